"""Image-scale experiments (matrix-free SLQ): the phases at D = 3,072 agree and catch wrong phases."""
import pytest

from validation import mutants as M
from validation.experiment import AGREE, DISAGREE
from validation.suite import run_experiment


def _allowances(rec):
    return {c["quantity"]: (c["measured"], c["stderr"], c["finite_size"]) for c in rec["checks"]}


def test_image_scale_phases_agrees_and_catches_wrong_phase_boundaries():
    base = run_experiment("image_scale_phases", "quick", 3)
    assert base["error"] is None and base["verdict"] == AGREE
    targets = {m.name for m in M.targets_of("image_scale_phases")}
    assert {"phases-trivial-without-1-minus-delta", "phases-separation-peak-arithmetic"} <= targets
    for name in ("phases-trivial-without-1-minus-delta", "phases-separation-peak-arithmetic"):
        with M.patched(M.mutants()[name]):
            rec = run_experiment("image_scale_phases", "quick", 3)
        assert rec["verdict"] == DISAGREE, name
        # the measurement and its allowance do not move under the mutant (they never call st.phases)
        assert _allowances(rec) == _allowances(base), name
