"""The public surface: explicit ``__all__`` everywhere, every returned type exported, one exception tree.

The intended top-level names are written out here (not derived from the package), so adding or losing
a public name is a deliberate change to this list.
"""
import importlib
import inspect
import pkgutil
import re
import types

import pytest

import spectral_theory as st

INTENDED = {
    "SpectralTheoryException", "SpectralTheoryError", "ConvergenceError",
    "Schedule", "VE", "VP", "DiscreteVP", "OU", "EDM", "edm_sigmas",
    "ScoreModel", "DataModel", "Empirical", "Gaussian", "GaussianMixture", "LinearManifold", "MoLRG", "SpikedCovariance",
    "SpectralDensity", "StieltjesResult", "Gap", "PushforwardDensity", "AtomicLaw", "AtomicSpectrum",
    "covariance_spectrum", "jacobian_spectrum", "jacobian_spectra", "JacobianSpectra", "BulkInterpolant",
    "SpectralGap", "GapProfiles", "DimensionEstimate", "spectral_gaps", "manifold_gap", "gap_profile",
    "gap_profiles", "gap_peak", "gap_window", "manifold_gap_profile", "manifold_gap_window",
    "estimate_dimension", "predicted_drop",
    "phases", "Phases", "PhaseTimes", "Separation", "collapse_tau", "collapse_time", "speciation_tau",
    "speciation_time",
    "distill_linear", "LinearFit", "wiener_filter",
}


def _public_modules():
    """Every module of the package whose dotted path has no private part."""
    out = [st]
    for info in pkgutil.walk_packages(st.__path__, "spectral_theory."):
        if any(part.startswith("_") for part in info.name.split(".")[1:]):
            continue
        out.append(importlib.import_module(info.name))
    return out


def test_top_level_all_is_exactly_the_intended_names():
    assert len(st.__all__) == len(set(st.__all__)), "duplicates in __all__"
    assert set(st.__all__) == INTENDED


@pytest.mark.parametrize("module", _public_modules(), ids=lambda m: m.__name__)
def test_every_public_module_has_an_explicit_all_of_resolvable_non_module_names(module):
    assert "__all__" in vars(module), f"{module.__name__} has no __all__"
    names = module.__all__
    assert len(names) == len(set(names)), f"duplicates in {module.__name__}.__all__"
    for name in names:
        assert hasattr(module, name), f"{module.__name__}.__all__ names missing {name!r}"
        assert not isinstance(getattr(module, name), types.ModuleType), \
            f"{module.__name__}.__all__ lists the module {name!r}"


@pytest.mark.parametrize("module", _public_modules(), ids=lambda m: m.__name__)
def test_every_public_class_is_exported_where_it_is_defined(module):
    for name, obj in vars(module).items():
        if inspect.isclass(obj) and obj.__module__ == module.__name__ and not name.startswith("_"):
            assert name in module.__all__, f"{module.__name__}.{name} is public but not in __all__"


def _package_types_named_in(annotation, namespace):
    for word in re.findall(r"[A-Za-z_][A-Za-z0-9_]*", str(annotation)):
        obj = namespace.get(word)
        if inspect.isclass(obj) and obj.__module__.startswith("spectral_theory"):
            yield obj


def _classes_in(module):
    return {obj for obj in (getattr(module, n) for n in module.__all__) if inspect.isclass(obj)}


def _callables_of(obj):
    if inspect.isclass(obj):
        for name, member in vars(obj).items():
            if name.startswith("_"):
                continue
            if isinstance(member, property):
                member = member.fget
            if inspect.isfunction(member):
                yield f"{obj.__name__}.{name}", member
    elif inspect.isfunction(obj):
        yield obj.__name__, obj


def test_every_type_returned_by_a_top_level_name_is_exported_at_top_level():
    exported = _classes_in(st)
    missing = []
    for name in st.__all__:
        for where, fn in _callables_of(getattr(st, name)):
            ret = fn.__annotations__.get("return")
            if ret is None:
                continue
            for cls in _package_types_named_in(ret, vars(inspect.getmodule(fn))):
                if cls not in exported:
                    missing.append(f"{where} -> {cls.__name__}")
    assert not missing, missing


@pytest.mark.parametrize("module", _public_modules(), ids=lambda m: m.__name__)
def test_dataclasses_returned_in_a_module_are_exported_by_it_or_the_top_level(module):
    exported = _classes_in(module) | _classes_in(st)
    for name in module.__all__:
        for where, fn in _callables_of(getattr(module, name)):
            ret = fn.__annotations__.get("return")
            for cls in _package_types_named_in(ret or "", vars(inspect.getmodule(fn))):
                if cls.__module__ == module.__name__:
                    assert cls in exported, f"{module.__name__}: {where} returns {cls.__name__}, not exported"


def test_one_exception_hierarchy():
    from validation.store import SweepError

    base = st.SpectralTheoryException
    assert issubclass(base, Exception) and not issubclass(base, (ValueError, RuntimeError))
    assert issubclass(st.SpectralTheoryError, base) and issubclass(st.SpectralTheoryError, ValueError)
    assert issubclass(st.ConvergenceError, base) and issubclass(st.ConvergenceError, RuntimeError)
    assert issubclass(SweepError, base) and issubclass(SweepError, RuntimeError)
    with pytest.raises(base):
        st.VE().tau(-1.0)
    # every exception class the three packages define derives from the base
    import validation
    import derivations
    for pkg in (st, validation, derivations):
        for info in pkgutil.walk_packages(pkg.__path__, pkg.__name__ + "."):
            mod = importlib.import_module(info.name)
            for obj in vars(mod).values():
                if inspect.isclass(obj) and issubclass(obj, BaseException) and not issubclass(obj, Warning) \
                        and obj.__module__ == mod.__name__:
                    assert issubclass(obj, base), f"{mod.__name__}.{obj.__name__} is outside the hierarchy"


def test_checks_are_public():
    from spectral_theory import checks

    assert st.checks.probability_vector([0.25, 0.75], "w").sum() == 1.0
    with pytest.raises(st.SpectralTheoryError, match="`w`"):
        checks.probability_vector([0.5, 0.6], "w")
