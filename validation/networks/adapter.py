r"""Any torch denoiser as a data model: :class:`TorchModel`.

A module called as ``module(x, sigma)`` returning the denoised x (the VE posterior-mean estimate
:math:`D(x;\sigma) \approx \mathbb E[x_0 | x_0 + \sigma n = x]`) becomes an object with the package's model
interface, numpy float64 in and out, batched:

.. math::
   D_t(x) = D(x/\alpha;\ \sigma/\alpha), \qquad
   \nabla\log p_t(x) = \frac{\alpha D_t(x) - x}{\sigma^2}, \qquad
   J(x)\,v = \frac{J_D(x/\alpha;\ \sigma/\alpha)\,v - v}{\sigma^2},

the VE-equivalent of :math:`x_t = \alpha x_0 + \sigma\xi` (``x_t/alpha = x_0 + (sigma/alpha) xi``) and
Tweedie's formula (Efron 2011; conventions.md).  Jacobian-vector products run over the batch of
(point, tangent) rows, by default as two reverse passes (the double-VJP trick), or in forward mode
(``torch.func.jvp`` or dual numbers); transposed products are one reverse pass; dense Jacobians are D products per point.  Samplers (:mod:`validation.samplers`), Jacobian routes
(:mod:`validation.jacobians`), :mod:`spectral_theory.metrics` and :func:`spectral_theory.distill_linear`
take it like any exact model.
"""
from __future__ import annotations

import numpy as np

from spectral_theory.checks import SpectralTheoryError, integer
from spectral_theory.models import ScoreModel
from spectral_theory.models._base import as_batch, noise_args

from ._torch import torch, torch_dtype

__all__ = ["TorchModel"]


class TorchModel(ScoreModel):
    r"""Adapter: a torch denoiser ``module(x, sigma) -> D(x; sigma)`` as a model.

    Parameters
    ----------
    module : torch.nn.Module (or callable) taking ``x`` (B, D) - or (B, C, H, W) with ``image_shape`` -
        and ``sigma`` (B,) and returning the denoised x of the same shape (float32 or float64).
    dim : ambient dimension D of vector data (give this or ``image_shape``).
    image_shape : (H, W, C) of image data; numpy rows are flattened (H, W, C) in C order and the module
        receives (B, C, H, W).
    dtype : dtype fed to the module (default: that of its first parameter, else float32).
    device : torch device of the module.
    batch_size : rows per module call (bounds memory; results do not depend on it).
    jvp : route of :meth:`score_jvp` (one of :attr:`JVP_ROUTES`): "double_vjp" (default; reverse mode
        twice, Townsend 2017: :math:`Jv = \partial_u\langle J^\top u, v\rangle`), "forward"
        (``torch.func.jvp`` on the module call) or "dual" (forward-mode dual numbers,
        ``torch.autograd.forward_ad``, without the graph of the reverse routes); the fastest depends on
        the network and batch (``benchmarks/bench_networks.py`` times all three).

    Raises
    ------
    SpectralTheoryError : ``module`` cannot be called as ``module(x, sigma)``, returns a wrong shape or
        non-finite values at a probe input; ``dim``/``image_shape`` missing or inconsistent.
    """

    JVP_ROUTES = ("double_vjp", "forward", "dual")

    def __init__(self, module, *, dim=None, image_shape=None, dtype=None, device="cpu", batch_size=1024,
                 jvp="double_vjp"):
        if not callable(module):
            raise SpectralTheoryError(f"`module` must be a torch module called as module(x, sigma); got {type(module).__name__}")
        if (dim is None) == (image_shape is None):
            raise SpectralTheoryError("give exactly one of `dim` (vector data) and `image_shape` (H, W, C)")
        if image_shape is not None:
            if len(image_shape) != 3:
                raise SpectralTheoryError(f"`image_shape` must be (H, W, C); got {image_shape!r}")
            self.image_shape = tuple(integer(v, "image_shape", minimum=1) for v in image_shape)
            self._dim = int(np.prod(self.image_shape))
        else:
            self.image_shape = None
            self._dim = integer(dim, "dim", minimum=1)
        self.module = module
        self.device = torch.device(device)
        if dtype is None:
            p = next(iter(module.parameters()), None) if isinstance(module, torch.nn.Module) else None
            dtype = p.dtype if p is not None and p.dtype in (torch.float32, torch.float64) else torch.float32
        self.dtype = torch_dtype(dtype)
        self.batch_size = integer(batch_size, "batch_size", minimum=1)
        if jvp not in self.JVP_ROUTES:
            raise SpectralTheoryError(f"`jvp` must be one of {self.JVP_ROUTES}; got {jvp!r}")
        self.jvp_route = jvp
        if isinstance(module, torch.nn.Module):
            module.eval()
        self._probe()

    @property
    def dim(self) -> int:
        """Ambient dimension D of the network's input (flattened)."""
        return self._dim

    def __repr__(self):
        shape = f"image_shape={self.image_shape}" if self.image_shape else f"dim={self.dim}"
        return f"TorchModel({type(self.module).__name__}, {shape}, dtype={self.dtype})"

    # ---- the module call, in torch ----------------------------------------------------------
    def _to_module(self, x):
        if self.image_shape is None:
            return x
        H, W, C = self.image_shape
        return x.reshape(x.shape[0], H, W, C).permute(0, 3, 1, 2).contiguous()    # (B, C, H, W)

    def _from_module(self, y, n):
        if self.image_shape is not None:
            y = y.permute(0, 2, 3, 1)
        return y.reshape(n, self.dim)

    def _forward(self, x, sigma):
        """D(x; sigma) for a torch batch x (B, D) and sigma (B,), in torch (differentiable)."""
        y = self.module(self._to_module(x), sigma)
        if not isinstance(y, torch.Tensor) or y.shape != self._to_module(x).shape:
            got = tuple(y.shape) if isinstance(y, torch.Tensor) else type(y).__name__
            raise SpectralTheoryError(f"`module` must return the denoised x of shape {tuple(self._to_module(x).shape)}; got {got}")
        return self._from_module(y, x.shape[0]).to(self.dtype)

    def _probe(self):
        x = torch.zeros(2, self.dim, dtype=self.dtype, device=self.device)
        x[1] = 1.0
        try:
            with torch.no_grad():
                y = self._forward(x, torch.ones(2, dtype=self.dtype, device=self.device))
        except SpectralTheoryError:
            raise
        except (TypeError, RuntimeError, ValueError) as e:
            raise SpectralTheoryError(f"`module` must be callable as module(x, sigma) with x of shape "
                                      f"{tuple(self._to_module(x).shape)} and sigma of shape (2,): {e}") from e
        if not bool(torch.isfinite(y).all()):
            raise SpectralTheoryError("`module` returned NaN or inf at the probe input (x = 0 and 1, sigma = 1)")

    def _tensor(self, a):
        return torch.as_tensor(a, dtype=self.dtype, device=self.device)

    @staticmethod
    def _numpy(t, what="denoiser output"):
        out = t.detach().to("cpu", torch.float64).numpy()
        if not np.all(np.isfinite(out)):
            raise SpectralTheoryError(f"`module` returned NaN or inf ({what})")
        return out

    def _chunks(self, n):
        return range(0, n, self.batch_size)

    # ---- the model interface -----------------------------------------------------------------
    def denoise(self, x, sigma, alpha=1.0):
        """Posterior-mean estimate :math:`D(x/\\alpha; \\sigma/\\alpha)` at x (D,) or (B, D)."""
        xb, single = as_batch(x, self.dim)
        sigma, alpha = noise_args(sigma, alpha)
        out = np.empty_like(xb)
        with torch.no_grad():
            for i in self._chunks(xb.shape[0]):
                xt = self._tensor(xb[i:i + self.batch_size] / alpha)
                s = torch.full((xt.shape[0],), sigma / alpha, dtype=self.dtype, device=self.device)
                out[i:i + self.batch_size] = self._numpy(self._forward(xt, s))
        return out[0] if single else out

    def score(self, x, sigma, alpha=1.0):
        """Tweedie: :math:`(\\alpha D_t(x) - x)/\\sigma^2`."""
        xb = np.asarray(x, dtype=np.float64)
        sigma, alpha = noise_args(sigma, alpha)
        return (alpha * self.denoise(x, sigma, alpha) - xb) / sigma**2

    def _batched(self, sigma_ve, n):
        s = torch.full((n,), sigma_ve, dtype=self.dtype, device=self.device)
        return lambda X: self._forward(X, s)

    def _rows(self, x, V, sigma, alpha):
        """Validated (points (B, D), tangents (B, D), sigma, alpha, 1-D V?): one point per tangent row."""
        xb, single = as_batch(x, self.dim)
        Vb, _ = as_batch(V, self.dim, "V")
        if not single and Vb.shape != xb.shape:
            raise SpectralTheoryError(f"`V` must have the shape of `x` {xb.shape} when x is a batch; got {Vb.shape}")
        sigma, alpha = noise_args(sigma, alpha)
        points = np.broadcast_to(xb[0], Vb.shape) if single else xb
        return points / alpha, Vb, sigma, alpha, np.ndim(V) == 1

    @staticmethod
    def _double_vjp(f, x, v):
        """J v by two reverse passes: g(u) = J^T u is linear in u, so J v = d<g(u), v>/du."""
        x = x.detach().requires_grad_(True)
        with torch.enable_grad():
            y = f(x)
            u = torch.zeros_like(y, requires_grad=True)
            g, = torch.autograd.grad(y, x, u, create_graph=True)
            jv, = torch.autograd.grad(g, u, v)
        return jv

    @staticmethod
    def _dual(f, x, v):
        """J v by forward-mode dual numbers: one pass carrying (x, v) through every operation."""
        from torch.autograd import forward_ad
        with torch.no_grad(), forward_ad.dual_level():
            return forward_ad.unpack_dual(f(forward_ad.make_dual(x, v))).tangent

    def _product(self, mode, x, V, sigma, alpha):
        from torch.func import jvp, vjp
        X, Vb, sigma, alpha, vector = self._rows(x, V, sigma, alpha)
        out = np.empty_like(Vb)
        for i in self._chunks(Vb.shape[0]):
            xt, vt = self._tensor(X[i:i + self.batch_size]), self._tensor(Vb[i:i + self.batch_size])
            f = self._batched(sigma / alpha, xt.shape[0])
            if mode == "vjp":
                jd = vjp(f, xt)[1](vt)[0]
            elif self.jvp_route == "forward":
                jd = jvp(f, (xt,), (vt,))[1]
            elif self.jvp_route == "dual":
                jd = self._dual(f, xt, vt)
            else:
                jd = self._double_vjp(f, xt, vt)
            out[i:i + self.batch_size] = self._numpy(jd, f"{mode} product")
        out = (out - Vb) / sigma**2
        return out[0] if vector else out

    def score_jvp(self, x, V, sigma, alpha=1.0):
        """:math:`J(x) v` for x (D,) and V (k, D) -> (k, D) (rows :math:`J v_i`; a network's J is only
        nearly symmetric), or row-wise for x (B, D) and V (B, D).

        One product over the batch of (point, tangent) rows (route ``jvp`` of the constructor): the module
        must treat rows independently (as any denoiser in eval mode does)."""
        return self._product("jvp", x, V, sigma, alpha)

    def score_vjp(self, x, V, sigma, alpha=1.0):
        """:math:`J(x)^\top v` (reverse mode, ``torch.func.vjp``), shapes as :meth:`score_jvp`; with it
        the symmetric part :math:`(J + J^\top)/2` of a network's Jacobian (not exactly symmetric) is
        matrix-free too."""
        return self._product("vjp", x, V, sigma, alpha)

    def score_jacobian(self, x, sigma, alpha=1.0):
        r"""Dense score Jacobian :math:`(J_D - I)/\sigma^2`: (D, D) at x (D,), (B, D, D) at x (B, D);
        D forward-mode products per point (the columns), batched."""
        xb, single = as_batch(x, self.dim)
        sigma, alpha = noise_args(sigma, alpha)
        D = self.dim
        eye = np.eye(D)
        per = max(1, self.batch_size // D)                       # points per chunk of D * per rows
        out = np.empty((xb.shape[0], D, D))
        for i in range(0, xb.shape[0], per):
            pts = xb[i:i + per]
            cols = self.score_jvp(np.repeat(pts, D, axis=0), np.tile(eye, (pts.shape[0], 1)), sigma, alpha)
            out[i:i + per] = np.swapaxes(cols.reshape(pts.shape[0], D, D), 1, 2)    # rows of cols are J e_j
        return out[0] if single else out
