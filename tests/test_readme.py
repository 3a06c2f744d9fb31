"""README and CI stay in step: CI runs the README's own commands."""
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_ci_runs_the_readme_commands():
    readme = ROOT.joinpath("README.md").read_text()
    ci = ROOT.joinpath(".ci", "run").read_text()
    blocks = [b.split("```", 1)[0].strip() for b in readme.split("```bash")[1:3]]
    assert len(blocks) == 2
    install_tests = blocks[1]
    assert install_tests in ci, "CI must run the README's test command verbatim"
    main_job = blocks[0].split("&& spectral-theory validate")[0]
    assert main_job.split("&&")[-1].strip() in ci and "spectral-theory validate" in ci


def test_importing_the_numeric_core_does_not_import_sympy_or_validation():
    import subprocess
    import sys
    code = "import sys, spectral_theory; bad = [m for m in ('sympy', 'validation', 'matplotlib') if m in sys.modules]; print(bad); sys.exit(bool(bad))"
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr
