"""The core and the validation layer import without torch; validation.networks then names the extra."""
import subprocess
import sys

_CODE = """
import sys, importlib.abc

class NoTorch(importlib.abc.MetaPathFinder):    # simulate a machine without PyTorch
    def find_spec(self, name, path, target=None):
        if name == "torch" or name.startswith("torch."):
            raise ImportError("No module named 'torch'")

sys.meta_path.insert(0, NoTorch())
import spectral_theory, validation, validation.experiment, validation.samplers
from validation.experiment import registry
registry()
try:
    import validation.networks
except ImportError as e:
    assert "spectral-theory[nn]" in str(e), e
    print("ok")
"""


def test_imports_without_torch():
    out = subprocess.run([sys.executable, "-c", _CODE], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "ok", out.stderr
