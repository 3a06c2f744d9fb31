"""The import structure of ``spectral_theory``: no cycles, no import inside a function (except of an
optional extra), no function shadowing its module, and the core never imports ``validation`` or
``derivations`` (sympy stays off the numeric path)."""
import ast
import pathlib
import subprocess
import sys

import spectral_theory as st

ROOT = pathlib.Path(st.__file__).parent
#: top-level names of the optional extras (pyproject's optional-dependencies), importable only lazily
EXTRAS = {"matplotlib", "tqdm", "dask", "distributed", "sklearn", "skimage", "PIL", "torch", "freealg", "mnist1d"}


def _module_name(path):
    rel = path.relative_to(ROOT.parent).with_suffix("")
    parts = list(rel.parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_module_name(p): p for p in ROOT.rglob("*.py")}


def _targets(node, module, is_package):
    """Fully qualified names a node imports: `from pkg import sub` imports the module pkg.sub when sub
    is one, and pkg itself for every other name."""
    if isinstance(node, ast.Import):
        return [a.name for a in node.names]
    base = module if is_package else module.rpartition(".")[0]
    for _ in range(node.level - 1):
        base = base.rpartition(".")[0]
    src = (f"{base}.{node.module}" if node.module else base) if node.level else node.module
    subs = [f"{src}.{a.name}" for a in node.names if f"{src}.{a.name}" in MODULES]
    return subs + ([src] if len(subs) < len(node.names) else [])     # names that are not submodules


def _imports():
    """{module: [(target, at_module_level, line)]} for every module of the package."""
    graph = {}
    for name, path in MODULES.items():
        tree = ast.parse(path.read_text())
        top = {id(n) for n in tree.body}
        for n in ast.walk(tree):                     # imports under an `if`/`try` at top level count as top
            if isinstance(n, (ast.If, ast.Try)) and id(n) in top:
                top |= {id(c) for c in ast.walk(n)}
        rows = []
        for n in ast.walk(tree):
            if isinstance(n, (ast.Import, ast.ImportFrom)):
                for t in _targets(n, name, path.name == "__init__.py"):
                    rows.append((t, id(n) in top, n.lineno))
        graph[name] = rows
    return graph


def _internal(target):
    """The package module a target names (the longest known prefix), or None if external."""
    parts = target.split(".")
    for k in range(len(parts), 0, -1):
        if ".".join(parts[:k]) in MODULES:
            return ".".join(parts[:k])
    return None


def test_no_import_cycles_inside_spectral_theory():
    graph = {m: {_internal(t) for t, _, _ in rows} - {None, m} for m, rows in _imports().items()}
    state, stack = {}, []

    def visit(m):
        state[m] = "open"
        stack.append(m)
        for d in sorted(graph[m]):
            if state.get(d) == "open":
                raise AssertionError("import cycle: " + " -> ".join(stack[stack.index(d):] + [d]))
            if d not in state:
                visit(d)
        stack.pop()
        state[m] = "done"
    for m in sorted(graph):
        if m not in state:
            visit(m)


def test_no_function_level_imports_except_optional_extras():
    bad = [f"{m}:{line} imports {t}" for m, rows in _imports().items() for t, top, line in rows
           if not top and t.split(".")[0] not in EXTRAS]
    assert not bad, bad


def test_core_never_imports_validation_derivations_or_sympy():
    # spectral_theory.__main__ (``python -m spectral_theory``) runs the command line in validation: it
    # is only ever run, never imported by ``import spectral_theory`` (checked below)
    bad = [f"{m} imports {t}" for m, rows in _imports().items() for t, _, _ in rows
           if t.split(".")[0] in ("validation", "derivations", "sympy") and m != "spectral_theory.__main__"]
    assert not bad, bad
    code = "import sys, spectral_theory; print(sorted(m for m in sys.modules if m.split('.')[0] in " \
           "('validation', 'derivations', 'sympy') or m == 'spectral_theory.__main__'))"
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert loaded.strip() == "[]", loaded


def test_no_function_shadows_its_module():
    import importlib
    for name in MODULES:
        parent, _, leaf = name.rpartition(".")
        if not parent:
            continue
        importlib.import_module(name)
        attr = getattr(importlib.import_module(parent), leaf)
        assert attr is importlib.import_module(name), f"{parent}.{leaf} is {attr!r}, not the module {name}"
