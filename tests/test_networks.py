"""Trained score networks (validation.networks): EDM formulas, training, the TorchModel adapter,
determinism, checkpoints, bad input, and the package's samplers/metrics/Jacobian routes on a network.

Independent routes: preconditioning against hand-derived values; the trained denoiser against the exact
Gaussian posterior mean; TorchModel against a linear module with a known Jacobian, finite differences
and the exact Gaussian model's sampler trajectory.
"""
import os
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import spectral_theory as st  # noqa: E402
from spectral_theory import SpectralTheoryError  # noqa: E402
from validation import jacobians as J  # noqa: E402
from validation import networks as nn  # noqa: E402
from validation.samplers import edm_sampler  # noqa: E402

torch.set_num_threads(1)          # small networks; the machine's cores are shared between test workers
TINY = dict(width=16, depth=1, n_features=8)


# ---- EDM formulas -------------------------------------------------------------------------------
@pytest.mark.parametrize("sigma,sd,expect", [
    (1.0, 0.5, (0.25 / 1.25, 0.5 / np.sqrt(1.25), 1 / np.sqrt(1.25), 0.0)),
    (2.0, 1.0, (1 / 5, 2 / np.sqrt(5), 1 / np.sqrt(5), np.log(2) / 4)),
    (0.1, 0.5, (0.25 / 0.26, 0.05 / np.sqrt(0.26), 1 / np.sqrt(0.26), np.log(0.1) / 4)),
])
def test_preconditioning_hand_values(sigma, sd, expect):
    np.testing.assert_allclose(nn.preconditioning(np.float64(sigma), sd), expect, rtol=1e-14, atol=1e-15)
    t = nn.preconditioning(torch.tensor(sigma, dtype=torch.float64), sd)
    np.testing.assert_allclose([float(v) for v in t], expect, rtol=1e-14, atol=1e-15)
    # lambda = 1/c_out^2, and the skip/out pair makes the effective target unit-variance for x0 ~ (0, sd^2):
    # Var[(x0 - c_skip (x0 + sigma n))/c_out] = ((1 - c_skip)^2 sd^2 + c_skip^2 sigma^2)/c_out^2 = 1
    c_skip, c_out, _, _ = expect
    assert nn.loss_weight(sigma, sd) == pytest.approx(1 / c_out**2, rel=1e-14)
    assert ((1 - c_skip) ** 2 * sd**2 + c_skip**2 * sigma**2) / c_out**2 == pytest.approx(1.0, rel=1e-13)


def test_warmup_then_cosine_learning_rate():
    from validation.networks.training import _learning_rate
    lr = [_learning_rate(1.0, k, 110, "cosine", 10) for k in range(110)]
    np.testing.assert_allclose(lr[:10], np.arange(1, 11) / 10)                  # linear warm-up to lr
    assert lr[10] == 1.0 and lr[60] == pytest.approx(0.5) and lr[-1] < 1e-3     # cosine over the remaining 100
    assert _learning_rate(1.0, 3, 110, "cosine", 0) == pytest.approx(0.5 * (1 + np.cos(np.pi * 3 / 110)))
    assert _learning_rate(2.0, 50, 110, "constant", 10) == 2.0


@pytest.mark.parametrize("film", [True, False])
def test_mlp_conditioning_variants(film):
    net = nn.MLP(4, width=8, depth=2, n_features=8, film=film, max_frequency=2.0)
    out = net(torch.zeros(3, 4), torch.zeros(3))
    assert out.shape == (3, 4) and float(net.embed.freqs.max()) == pytest.approx(2 * np.pi * 2.0)
    with pytest.raises(SpectralTheoryError, match="max_frequency"):
        nn.MLP(4, max_frequency=0.0)


def test_lognormal_adapts_to_scale_and_schedule_sigma():
    assert nn.LogNormalSigma.for_data(0.5).p_mean == pytest.approx(-1.2)
    assert nn.LogNormalSigma.for_data(5.0).p_mean == pytest.approx(-1.2 + np.log(10))
    g = torch.Generator().manual_seed(0)
    s = nn.LogNormalSigma.for_data(2.0).sample(20000, g, torch.float64).numpy()
    assert np.median(s / 2.0) == pytest.approx(np.exp(-1.2) / 0.5, rel=0.05)
    vp = st.VP()
    from validation.networks.edm import sigma_sampler
    given = nn.LogNormalSigma(np.log(0.1), 0.5)
    assert sigma_sampler(given, 3.0) is given                                   # an explicit distribution is kept
    sm = sigma_sampler(vp, 1.0, (0.1, 0.9))
    g = torch.Generator().manual_seed(1)
    u = sm.sample(5, g, torch.float64).numpy()
    t = 0.1 + 0.8 * torch.rand(5, generator=torch.Generator().manual_seed(1), dtype=torch.float64).numpy()
    np.testing.assert_allclose(u, np.sqrt(vp.tau(t)), rtol=1e-14)


# ---- TorchModel against a linear module (known Jacobian) ------------------------------------------
class Linear(torch.nn.Module):
    def __init__(self, A):
        super().__init__()
        self.A = torch.nn.Parameter(torch.as_tensor(A))

    def forward(self, x, sigma):
        return x @ self.A.T


class ImageLinear(Linear):
    """The same map on flattened (H, W, C) rows, receiving (B, C, H, W)."""

    def forward(self, x, sigma):
        flat = x.permute(0, 2, 3, 1).reshape(x.shape[0], -1)
        return (flat @ self.A.T).reshape(x.shape[0], x.shape[2], x.shape[3], x.shape[1]).permute(0, 3, 1, 2)


@pytest.fixture(scope="module")
def linear():
    rng = np.random.default_rng(0)
    A = rng.standard_normal((6, 6)) / 3
    return A, nn.TorchModel(Linear(A), dim=6)


@pytest.mark.parametrize("alpha", [1.0, 0.6])
def test_torchmodel_linear_module_exact(linear, alpha):
    A, m = linear
    rng = np.random.default_rng(1)
    x, V = rng.standard_normal((5, 6)), rng.standard_normal((5, 6))
    s = 0.7
    np.testing.assert_allclose(m.denoise(x, s, alpha), x @ A.T / alpha, rtol=1e-13, atol=1e-14)
    np.testing.assert_allclose(m.score(x, s, alpha), (x @ A.T - x) / s**2, rtol=1e-12, atol=1e-13)
    Js = (A - np.eye(6)) / s**2
    np.testing.assert_allclose(m.score_jvp(x, V, s, alpha), V @ Js.T, rtol=1e-12, atol=1e-13)       # row-wise
    np.testing.assert_allclose(m.score_jvp(x[0], V, s, alpha), V @ Js.T, rtol=1e-12, atol=1e-13)    # block at one x
    np.testing.assert_allclose(m.score_jvp(x[0], V[0], s, alpha), Js @ V[0], rtol=1e-12, atol=1e-13)
    np.testing.assert_allclose(m.score_jacobian(x, s, alpha), np.broadcast_to(Js, (5, 6, 6)), rtol=1e-12, atol=1e-13)
    assert m.denoise(x[0], s).shape == (6,) and m.denoise(x, s).dtype == np.float64


def test_torchmodel_image_layout(linear):
    A, _ = linear
    m = nn.TorchModel(ImageLinear(A), image_shape=(1, 3, 2))
    x = np.random.default_rng(2).standard_normal((4, 6))
    np.testing.assert_allclose(m.denoise(x, 1.0), x @ A.T, rtol=1e-13)
    np.testing.assert_allclose(m.score_jacobian(x[0], 1.0), A - np.eye(6), rtol=1e-12, atol=1e-13)


@pytest.fixture(scope="module")
def random_mlp():
    net = nn.EDMDenoiser(nn.MLP(5, **TINY), 1.0).double()
    nn.limit_threads(1)
    from validation.networks._torch import reset_parameters
    reset_parameters(net, torch.Generator().manual_seed(3))
    return nn.TorchModel(net, dim=5, batch_size=3)            # batch_size < B exercises the chunking


def test_torchmodel_vs_finite_differences(random_mlp):
    m = random_mlp
    rng = np.random.default_rng(4)
    x, V = rng.standard_normal((7, 5)), rng.standard_normal((7, 5))
    s, a = 0.8, 0.9
    Jfd = J.finite_difference_matrix(m.score, x, s, a)                   # (B, D, D) central differences
    np.testing.assert_allclose(m.score_jacobian(x, s, a), Jfd, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(m.score_jvp(x, V, s, a), np.einsum("bij,bj->bi", Jfd, V), rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(m.score_jvp(x[2], V, s, a), V @ Jfd[2].T, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(m.score_vjp(x, V, s, a), np.einsum("bji,bj->bi", Jfd, V), rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(m.score_vjp(x[2], V, s, a), V @ Jfd[2], rtol=1e-6, atol=1e-6)
    for route in ("forward", "dual"):                                     # the forward-mode routes agree
        fwd = nn.TorchModel(m.module, dim=5, jvp=route)
        np.testing.assert_allclose(fwd.score_jvp(x, V, s, a), m.score_jvp(x, V, s, a), rtol=1e-12, atol=1e-12)
    # the score from Tweedie against the denoiser
    np.testing.assert_allclose(m.score(x, s, a), (a * m.denoise(x, s, a) - x) / s**2, rtol=1e-14)


# ---- the package's routes on a network: a Wiener-filter module equals the exact Gaussian ---------------
class Wiener(torch.nn.Module):
    def __init__(self, g):
        super().__init__()
        self.mu = torch.as_tensor(g.mean_vector)
        self.U = torch.as_tensor(g.eigenvectors)
        self.lam = torch.as_tensor(g.eigenvalues)

    def forward(self, x, sigma):
        gain = self.lam / (self.lam + sigma.reshape(-1, 1) ** 2)             # (B, r)
        return self.mu + (((x - self.mu) @ self.U) * gain) @ self.U.T


@pytest.fixture(scope="module")
def gauss_pair():
    rng = np.random.default_rng(5)
    V = np.linalg.qr(rng.standard_normal((8, 8)))[0]
    g = st.Gaussian.from_eigen(0.3 * rng.standard_normal(8), np.geomspace(3.0, 0.05, 8), V)
    return g, nn.TorchModel(Wiener(g), dim=8, dtype=torch.float64)


def test_routes_on_a_network(gauss_pair):
    g, m = gauss_pair
    rng = np.random.default_rng(6)
    x_T = 80.0 * rng.standard_normal((16, 8))
    sig = st.edm_sigmas(12)
    a = edm_sampler(m.denoise, x_T, sig, record=np.arange(sig.size - 1))
    b = edm_sampler(g.denoise, x_T, sig, record=np.arange(sig.size - 1))
    np.testing.assert_allclose(a.final, b.final, rtol=1e-9, atol=1e-9)
    ev = J.spectra_along(a, model=m, method="analytic")
    np.testing.assert_allclose(ev, J.spectra_along(b, model=g, method="analytic"), rtol=1e-8, atol=1e-8)
    top = J.lanczos_extreme(m.score_jvp, a.final[0], 0.5, k=2, jvp=True, rng=0)
    np.testing.assert_allclose(top.eigenvalues, np.sort(-1 / (g.eigenvalues[:2] + 0.25)), rtol=1e-8)
    data = g.sample(400, rng=rng)
    fit = st.distill_linear(m, 0.5, 2000, g, rng=7)
    W, bias = st.wiener_filter(g.mean_vector, g.covariance(), 0.5)
    np.testing.assert_allclose(fit.W, W, atol=1e-8)
    ls = st.metrics.linearity_score(nn.TorchModel(Wiener(st.Gaussian(np.zeros(8), g.covariance())), dim=8), data, 0.5, rng=8)
    assert ls.score == pytest.approx(1.0, abs=1e-10)
    assert st.metrics.score_field_distance(m, g, data, 0.5).rmse < 1e-10
    assert 0 <= st.metrics.nn_ratio(a.final, data).memorized_fraction <= 1
    assert np.isfinite(st.metrics.generalization_score(a.final, data).score)


# ---- training ------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def trained_gaussian():
    g = st.Gaussian(np.zeros(3), np.diag([2.0, 0.5, 0.1]))
    model, rec = nn.train_denoiser(g, steps=600, batch_size=256, lr=3e-3, ema=0.99, network_options=TINY | dict(width=32),
                                   rng=0, threads=1)
    return g, model, rec


def test_loss_minimiser_is_the_posterior_mean(trained_gaussian):
    """The EDM loss is minimised by E[x0|x]: the trained network's held-out distance to the exact
    Gaussian denoiser is a small fraction of the exact denoiser's own error at every sigma of the grid."""
    g, m, rec = trained_gaussian
    rng = np.random.default_rng(9)
    x0 = g.sample(2000, rng=rng)
    for s in (0.05, 0.3, 1.0, 3.0):
        x = x0 + s * rng.standard_normal(x0.shape)
        gap = np.mean((m.denoise(x, s) - g.denoise(x, s)) ** 2)
        mmse = np.mean((g.denoise(x, s) - x0) ** 2)
        assert gap < 0.1 * mmse, (s, gap, mmse)
    assert rec.eval_source == "model samples" and rec.eval_mse.shape == rec.eval_sigmas.shape
    assert rec.loss.shape == (600,) and rec.final_loss() < rec.loss[:20].mean()
    assert rec.sigma_data == pytest.approx(np.sqrt((2.0 + 0.5 + 0.1) / 3), rel=0.05)


def test_deterministic_for_a_seed():
    X = np.random.default_rng(0).standard_normal((64, 4))
    kw = dict(steps=30, batch_size=16, network_options=TINY, threads=1)
    a, ra = nn.train_denoiser(X, rng=np.random.SeedSequence(11), **kw)
    b, rb = nn.train_denoiser(X, rng=np.random.SeedSequence(11), **kw)
    c, _ = nn.train_denoiser(X, rng=12, **kw)
    pa, pb, pc = ([p.detach().numpy() for p in m.module.parameters()] for m in (a, b, c))
    assert all(np.array_equal(u, v) for u, v in zip(pa, pb))
    assert not all(np.array_equal(u, v) for u, v in zip(pa, pc))
    np.testing.assert_array_equal(ra.loss, rb.loss)
    assert rb.eval_source == "training points"


def test_unet_and_lowrank_train():
    X = np.random.default_rng(0).uniform(-1, 1, (32, 5 * 3 * 2))
    m, rec = nn.train_denoiser(X, "unet", image_shape=(5, 3, 2), steps=3, batch_size=4,
                               network_options=dict(channels=4, n_features=8), rng=0, threads=1)
    assert m.image_shape == (5, 3, 2) and m.denoise(X[:3], 0.5).shape == (3, 30)
    assert m.score_jvp(X[0], X[:2], 0.5).shape == (2, 30)
    # forward and reverse products of the (odd-sized, padded) U-Net against central differences, float64
    m64, _ = nn.train_denoiser(X, "unet", image_shape=(5, 3, 2), steps=2, batch_size=4, dtype="float64",
                               network_options=dict(channels=4, n_features=8), rng=0, threads=1)
    Jfd = J.finite_difference_matrix(m64.score, X[:1], 0.5)[0]
    V = X[1:4]
    np.testing.assert_allclose(m64.score_jvp(X[0], V, 0.5), V @ Jfd.T, rtol=1e-6, atol=1e-6 * np.abs(Jfd).max())
    np.testing.assert_allclose(m64.score_vjp(X[0], V, 0.5), V @ Jfd, rtol=1e-6, atol=1e-6 * np.abs(Jfd).max())
    digits = pytest.importorskip("sklearn") and st.datasets.dataset("digits")      # carries image_shape (8, 8, 1)
    m, _ = nn.train_denoiser(digits, "unet", steps=2, batch_size=4, network_options=dict(channels=4, n_features=8),
                             rng=0, threads=1)
    assert m.image_shape == (8, 8, 1)
    mol = st.MoLRG(10, [2, 2], rng=0)
    m, rec = nn.train_denoiser(mol.sample(40, rng=1), "lowrank_dae", network_options=dict(dims=[2, 2]), steps=5,
                               batch_size=8, rng=0, threads=1)
    assert [U.shape for U in m.module.bases] == [(10, 2), (10, 2)]


def test_schedule_training_runs():
    X = np.random.default_rng(0).standard_normal((32, 3))
    _, rec = nn.train_denoiser(X, schedule=st.VP(), steps=5, batch_size=8, network_options=TINY, rng=0, threads=1)
    assert rec.config["schedule"]["kind"] == "schedule"


# ---- checkpoints ---------------------------------------------------------------------------------------
_SCRIPT = textwrap.dedent("""
    import sys, numpy as np
    from validation import networks as nn
    X = np.random.default_rng(0).standard_normal((256, 4))
    nn.train_denoiser(X, steps={steps}, batch_size=32, network_options=dict(width=16, depth=1, n_features=8),
                      rng=5, checkpoint=sys.argv[1], checkpoint_every=25, threads=1)
""")


def test_checkpoint_resume_after_sigkill(tmp_path):
    steps = 1500
    ckpt = tmp_path / "run.pt"
    script = tmp_path / "train.py"
    script.write_text(_SCRIPT.format(steps=steps))
    env = dict(os.environ, PYTHONPATH=os.getcwd() + os.pathsep + os.environ.get("PYTHONPATH", ""))
    proc = subprocess.Popen([sys.executable, str(script), str(ckpt)], env=env)
    deadline = time.time() + 120
    while not ckpt.exists() and time.time() < deadline and proc.poll() is None:
        time.sleep(0.02)
    time.sleep(0.1)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    killed_at = nn.load_checkpoint(ckpt)["step"]
    assert 0 < killed_at < steps, "the run finished before it could be killed"
    X = np.random.default_rng(0).standard_normal((256, 4))
    kw = dict(steps=steps, batch_size=32, network_options=dict(width=16, depth=1, n_features=8), rng=5,
              checkpoint_every=25, threads=1)
    resumed, rec = nn.train_denoiser(X, checkpoint=ckpt, **kw)
    fresh, ref = nn.train_denoiser(X, **kw)
    assert rec.resumed_from == killed_at
    for p, q in zip(resumed.module.parameters(), fresh.module.parameters()):
        assert torch.equal(p, q)
    np.testing.assert_array_equal(rec.loss, ref.loss)
    with pytest.raises(SpectralTheoryError, match="other settings"):
        nn.train_denoiser(X, checkpoint=ckpt, **(kw | dict(lr=1e-4)))


class _Evil:
    def __reduce__(self):
        return (os.system, ("touch pwned",))


def test_checkpoint_with_code_is_refused(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    torch.save({"step": 1, "model": _Evil()}, tmp_path / "evil.pt")
    with pytest.raises(SpectralTheoryError, match="refused"):
        nn.load_checkpoint(tmp_path / "evil.pt")
    with pytest.raises(SpectralTheoryError, match="refused"):
        nn.train_denoiser(np.ones((4, 2)), steps=2, checkpoint=tmp_path / "evil.pt", network_options=TINY)
    assert not (tmp_path / "pwned").exists()


def test_checkpoint_write_is_atomic(tmp_path):
    nn.save_checkpoint(tmp_path / "c.pt", dict(step=3, w=torch.ones(2)))
    assert os.listdir(tmp_path) == ["c.pt"] and nn.load_checkpoint(tmp_path / "c.pt")["step"] == 3


# ---- bad input -----------------------------------------------------------------------------------------
@pytest.mark.parametrize("module,match", [
    (lambda x: x, "module"),                                        # wrong signature
    (lambda x, s: x[:, :2], "shape"),                               # wrong output shape
    (lambda x, s: x * float("nan"), "NaN"),                         # non-finite
    (lambda x, s: x.sum(), "shape"),                                # no silent broadcast of a scalar
    ("not a module", "module"),
])
def test_bad_modules(module, match):
    with pytest.raises(SpectralTheoryError, match=match):
        nn.TorchModel(module, dim=4)


def test_bad_arguments(linear):
    _, m = linear
    with pytest.raises(SpectralTheoryError, match="`x`"):
        m.denoise(np.zeros((2, 5)), 1.0)
    with pytest.raises(SpectralTheoryError, match="`V`"):
        m.score_jvp(np.zeros((2, 6)), np.zeros((3, 6)), 1.0)
    with pytest.raises(SpectralTheoryError, match="sigma"):
        m.score(np.zeros(6), 0.0)
    with pytest.raises(SpectralTheoryError, match="exactly one"):
        nn.TorchModel(Linear(np.eye(2)))
    X = np.ones((8, 60))
    with pytest.raises(SpectralTheoryError, match="image_shape"):
        nn.train_denoiser(X, "unet", image_shape=(8, 8, 1), steps=1)
    with pytest.raises(SpectralTheoryError, match="image"):
        nn.train_denoiser(X, "unet", steps=1)
    with pytest.raises(SpectralTheoryError, match="`network`"):
        nn.train_denoiser(X, "transformer", steps=1)
    with pytest.raises(SpectralTheoryError, match="dims"):
        nn.train_denoiser(X, "lowrank_dae", steps=1)
    with pytest.raises(SpectralTheoryError, match="`schedule`"):
        nn.train_denoiser(X, schedule="cosine", steps=1)
    with pytest.raises(SpectralTheoryError, match="`rng`"):
        nn.train_denoiser(X, rng="seed", steps=1)
    with pytest.raises(SpectralTheoryError, match="`module`"):
        nn.train_denoiser(np.ones((8, 4)), Linear(np.eye(3)), steps=1)
