"""spectral_theory.parameters: one declaration per name; checks read it; old spellings warn for a release.

Each deprecated spelling is called next to the new one: the old one warns (naming the new spelling) and
gives the same number, the new one does not warn.
"""
import re
import warnings
from pathlib import Path

import numpy as np
import pytest

import spectral_theory as st
from spectral_theory import gaps, linear_denoisers as ld, rmt, spiked as sp
from spectral_theory.parameters import PARAMETERS, check, markdown_table, table

ROOT = Path(__file__).resolve().parents[1]


def test_readme_table_is_the_declaration_table():
    readme = ROOT.joinpath("README.md").read_text()
    m = re.search(r"<!-- names-table:.*?-->\n(.*?)\n<!-- /names-table -->", readme, re.S)
    assert m, "README needs the generated 'Names and symbols' table"
    assert m.group(1) == markdown_table(), "regenerate with spectral_theory.parameters.markdown_table()"


def test_one_declaration_per_name():
    names = [p.name for p in table()]
    assert len(names) == len(set(names)) and set(names) == set(PARAMETERS)
    assert st.parameters.table() is table()


def test_messages_read_the_declaration():
    with pytest.raises(st.SpectralTheoryError, match=re.escape("`aspect` (gamma = D/N) must be > 0; got -1.0")):
        st.rmt.MarchenkoPastur(-1.0)
    with pytest.raises(st.SpectralTheoryError, match=re.escape("`tau` (tau = sigma^2/alpha^2)")):
        sp.predict([1.0], 0.0, 0.5)
    with pytest.raises(st.SpectralTheoryError, match=re.escape("`spike` (ell = lambda/tau)")):
        sp.overlap(-1.0, 0.5)
    with pytest.raises(st.SpectralTheoryError, match=re.escape("`fractions` (alpha_k = m_k/D) must sum to at most 1")):
        rmt.Silverstein([0.7, 0.6], [1.0, 2.0])


# a value outside each domain, and one inside (None: no scalar value is valid, e.g. a vector domain)
BAD_GOOD = {"> 0": (0.0, 0.5), ">= 0": (-1e-3, 0.0), "(0, 1)": (1.0, 0.5), "integer >= 1": (0, 3),
            "probabilities (>= 0, sum 1)": ([0.5, 0.6], [0.4, 0.6]),
            "fractions (>= 0, sum <= 1)": ([0.5, 0.6], [0.4, 0.5])}


@pytest.mark.parametrize("name", sorted(PARAMETERS))
def test_every_declared_domain_is_enforced(name):
    bad, good = BAD_GOOD[PARAMETERS[name].domain]
    with pytest.raises(st.SpectralTheoryError, match=re.escape(f"`{name}` ({PARAMETERS[name].gloss})")):
        check(name, bad)
    for v in (np.nan, "x", None):
        with pytest.raises(st.SpectralTheoryError, match=f"`{name}`"):
            check(name, v)
    np.testing.assert_allclose(check(name, good), good)


# (old spelling, new spelling): same number, old warns, new does not
law_kw = dict(population_values=[1.0, 3.0], population_weights=[0.5, 0.5])
RENAMES = [
    ("spiked.overlap snr", lambda: sp.overlap(snr=2.0, aspect=0.5), lambda: sp.overlap(spike=2.0, aspect=0.5)),
    ("spiked.top_eigenvalue snr", lambda: sp.top_eigenvalue(snr=2.0, aspect=0.5),
     lambda: sp.top_eigenvalue(spike=2.0, aspect=0.5)),
    ("spiked.right_overlap snr", lambda: sp.right_overlap(snr=2.0, aspect=0.5),
     lambda: sp.right_overlap(spike=2.0, aspect=0.5)),
    ("spiked.outlier_variance snr", lambda: sp.outlier_variance(snr=2.0, aspect=0.5),
     lambda: sp.outlier_variance(spike=2.0, aspect=0.5)),
    ("spiked.eigenvalue_std snr", lambda: sp.eigenvalue_std(snr=2.0, aspect=0.5, n_samples=100),
     lambda: sp.eigenvalue_std(spike=2.0, aspect=0.5, n_samples=100)),
    ("spiked.finite_size_bound snr", lambda: sp.finite_size_bound(sp.overlap, snr=2.0, aspect=0.5, n_samples=100),
     lambda: sp.finite_size_bound(sp.overlap, spike=2.0, aspect=0.5, n_samples=100)),
    ("spiked.subcritical_overlap_scale snr", lambda: sp.subcritical_overlap_scale(snr=0.2, aspect=0.5, n_samples=100),
     lambda: sp.subcritical_overlap_scale(spike=0.2, aspect=0.5, n_samples=100)),
    ("spiked.interaction_overlap_scale snrs",
     lambda: sp.interaction_overlap_scale(snrs=[4.0, 2.0], aspect=0.5, n_samples=100),
     lambda: sp.interaction_overlap_scale(spike=[4.0, 2.0], aspect=0.5, n_samples=100)),
    ("spiked.effective_snr", lambda: sp.effective_snr(eigenvalue=3.0, noise=1.5),
     lambda: sp.effective_spike(spikes=3.0, tau=1.5)),
    ("spiked.snr_from_eigenvalue", lambda: sp.snr_from_eigenvalue(5.0, 0.5), lambda: sp.spike_from_eigenvalue(5.0, 0.5)),
    ("spiked.emergence_tau eigenvalue", lambda: sp.emergence_tau(eigenvalue=4.0, aspect=0.25),
     lambda: sp.emergence_tau(spikes=4.0, aspect=0.25)),
    ("spiked.emergence_abar eigenvalue", lambda: sp.emergence_abar(eigenvalue=4.0, aspect=0.25),
     lambda: sp.emergence_abar(spikes=4.0, aspect=0.25)),
    ("spiked.emergence_time eigenvalue", lambda: sp.emergence_time(eigenvalue=4.0, aspect=0.25, schedule=st.VP()),
     lambda: sp.emergence_time(spikes=4.0, aspect=0.25, schedule=st.VP())),
    ("spiked.predict noise", lambda: sp.predict([4.0, 2.0], noise=1.5, aspect=0.5).overlaps,
     lambda: sp.predict([4.0, 2.0], tau=1.5, aspect=0.5).overlaps),
    ("SpikedPrediction.noise", lambda: sp.predict([4.0], 1.5, 0.5).noise, lambda: sp.predict([4.0], 1.5, 0.5).tau),
    ("SpikedPrediction.snr", lambda: sp.predict([4.0], 1.5, 0.5).snr, lambda: sp.predict([4.0], 1.5, 0.5).spike),
    ("spiked.overlap_curves positional", lambda: sp.overlap_curves([4.0, 2.0], 0.5, [0.5, 1.0, 3.0]),
     lambda: sp.overlap_curves([4.0, 2.0], tau=[0.5, 1.0, 3.0], aspect=0.5)),
    ("spiked.overlap_curves taus", lambda: sp.overlap_curves([4.0, 2.0], taus=[0.5, 3.0], aspect=0.5),
     lambda: sp.overlap_curves([4.0, 2.0], tau=[0.5, 3.0], aspect=0.5)),
    ("linear_denoisers.wiener_shrinkage noise",
     lambda: ld.wiener_shrinkage(np.random.default_rng(0).standard_normal((40, 10)), noise=0.5, rank=2).matrix,
     lambda: ld.wiener_shrinkage(np.random.default_rng(0).standard_normal((40, 10)), tau=0.5, rank=2).matrix),
    ("linear_denoisers.mean_projection noise", lambda: ld.mean_projection([4.0, 2.0], noise=0.5, aspect=0.5, dim=20).diagonal,
     lambda: ld.mean_projection([4.0, 2.0], tau=0.5, aspect=0.5, dim=20).diagonal),
    ("MeanOperator.noise", lambda: ld.mean_projection([4.0], 0.5, 0.5, 20).noise,
     lambda: ld.mean_projection([4.0], 0.5, 0.5, 20).tau),
    ("linear_denoisers.mean_wiener noise", lambda: ld.mean_wiener([4.0, 2.0], noise=0.5, aspect=0.5, dim=20).diagonal,
     lambda: ld.mean_wiener([4.0, 2.0], tau=0.5, aspect=0.5, dim=20).diagonal),
    ("linear_denoisers.reverse_mean taus", lambda: ld.reverse_mean([4.0, 2.0], taus=[1.0, 0.5], aspect=0.5, dim=20).multipliers,
     lambda: ld.reverse_mean([4.0, 2.0], tau=[1.0, 0.5], aspect=0.5, dim=20).multipliers),
    ("linear_denoisers.steps_to_dominate taus",
     lambda: ld.steps_to_dominate([4.0, 1.0], taus=[1.0] * 30, aspect=0.5, dim=20, tol=0.1),
     lambda: ld.steps_to_dominate([4.0, 1.0], tau=[1.0] * 30, aspect=0.5, dim=20, tol=0.1)),
    ("linear_denoisers.contraction_factor noise", lambda: ld.contraction_factor([4.0, 2.0], noise=0.5, aspect=0.5),
     lambda: ld.contraction_factor([4.0, 2.0], tau=0.5, aspect=0.5)),
    ("linear_denoisers.contraction_first_order noise",
     lambda: ld.contraction_first_order([4.0, 2.0], noise=0.5, aspect=0.5),
     lambda: ld.contraction_first_order([4.0, 2.0], tau=0.5, aspect=0.5)),
    ("linear_denoisers.constant_noise_steps noise", lambda: ld.constant_noise_steps(4.0, 2.0, noise=0.5, aspect=0.5, tol=1e-3),
     lambda: ld.constant_noise_steps(4.0, 2.0, tau=0.5, aspect=0.5, tol=1e-3)),
    ("MarchenkoPastur ratio", lambda: rmt.MarchenkoPastur(ratio=0.5, scale=2.0).cdf(1.0),
     lambda: rmt.MarchenkoPastur(aspect=0.5, scale=2.0).cdf(1.0)),
    ("MarchenkoPastur.ratio", lambda: rmt.MarchenkoPastur(0.5).ratio, lambda: rmt.MarchenkoPastur(0.5).aspect),
    ("GeneralizedMarchenkoPastur ratio", lambda: rmt.GeneralizedMarchenkoPastur(**law_kw, ratio=0.3).support(),
     lambda: rmt.GeneralizedMarchenkoPastur(**law_kw, aspect=0.3).support()),
    ("GeneralizedMarchenkoPastur.ratio", lambda: rmt.GeneralizedMarchenkoPastur(**law_kw, aspect=0.3).ratio,
     lambda: rmt.GeneralizedMarchenkoPastur(**law_kw, aspect=0.3).aspect),
    ("Silverstein weights", lambda: rmt.Silverstein(weights=[0.1, 0.1], variances=[4.0, 0.5]).support(),
     lambda: rmt.Silverstein(fractions=[0.1, 0.1], variances=[4.0, 0.5]).support()),
    ("Silverstein.weights", lambda: rmt.Silverstein([0.1, 0.1], [4.0, 0.5]).weights,
     lambda: rmt.Silverstein([0.1, 0.1], [4.0, 0.5]).fractions),
    ("gaps.manifold_gap_profile gamma", lambda: gaps.manifold_gap_profile(gamma=2.0, tau=0.5),
     lambda: gaps.manifold_gap_profile(b=2.0, tau=0.5)),
    ("gaps.manifold_gap_window gamma", lambda: gaps.manifold_gap_window(gamma=2.0, threshold=0.1),
     lambda: gaps.manifold_gap_window(b=2.0, threshold=0.1)),
    ("gaps.gap_profiles taus",
     lambda: gaps.gap_profiles(rmt.Silverstein([0.1, 0.1], [4.0, 0.5]), taus=[0.5, 1.0]).widths,
     lambda: gaps.gap_profiles(rmt.Silverstein([0.1, 0.1], [4.0, 0.5]), tau=[0.5, 1.0]).widths),
]


def _same(a, b):
    if isinstance(a, (tuple, list)):
        assert len(a) == len(b)
        for x, y in zip(a, b):
            _same(x, y)
    else:
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("what, old, new", RENAMES, ids=[r[0] for r in RENAMES])
def test_old_spelling_warns_and_gives_the_same_number(what, old, new):
    with pytest.warns(DeprecationWarning, match="deprecated") as rec:
        got_old = old()
    assert any(__file__ == r.filename for r in rec), "the warning must point at the caller"
    with warnings.catch_warnings():
        warnings.simplefilter("error", DeprecationWarning)
        got_new = new()
    _same(got_old, got_new)


def test_old_and_new_spelling_together_is_an_error():
    with pytest.raises(st.SpectralTheoryError, match="both"):
        sp.overlap(snr=2.0, spike=2.0, aspect=0.5)


def test_positional_calls_keep_working_without_a_warning():
    with warnings.catch_warnings():
        warnings.simplefilter("error", DeprecationWarning)
        assert rmt.MarchenkoPastur(0.5).aspect == 0.5
        assert sp.predict([4.0], 1.5, 0.5).tau == 1.5
        assert rmt.Silverstein([0.1], [2.0]).fractions.tolist() == [0.1]


@pytest.mark.parametrize("old, new", [
    (dict(snr="2", aspect="0.5"), dict(spike="2", aspect="0.5")),
    (dict(spike="3", noise="1.5", aspect="0.5"), dict(spikes="3", tau="1.5", aspect="0.5")),
])
def test_cli_bbp_old_keys_warn_and_agree(old, new):
    from validation.predict import predict
    with pytest.warns(DeprecationWarning, match="deprecated"):
        got_old = predict("bbp", old)
    with warnings.catch_warnings():
        warnings.simplefilter("error", DeprecationWarning)
        assert predict("bbp", new) == got_old


def test_cli_other_old_keys_warn_and_agree():
    from validation.predict import predict
    for quantity, old, new in [("emergence", dict(eigenvalue="4", aspect="0.25"), dict(spikes="4", aspect="0.25")),
                               ("spectrum", dict(weights="0.1,0.1", variances="4,0.5"),
                                dict(fractions="0.1,0.1", variances="4,0.5"))]:
        with pytest.warns(DeprecationWarning, match="deprecated"):
            got_old = predict(quantity, old)
        assert predict(quantity, new) == got_old


def test_cli_shows_the_deprecation_on_stderr(capsys):
    from validation.cli import main
    assert main(["predict", "bbp", "snr=2", "aspect=0.5"]) == 0
    assert "use `spike`" in capsys.readouterr().err
