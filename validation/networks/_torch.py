"""The one place torch is imported: a clear ImportError naming the ``nn`` extra when it is missing,
and the seeding helpers (torch generators from numpy ``SeedSequence`` children, never global seeds)."""
from __future__ import annotations

import numbers

import numpy as np

from spectral_theory.checks import SpectralTheoryError

try:
    import torch
except ImportError as e:  # pragma: no cover - exercised only without torch
    raise ImportError("validation.networks needs PyTorch: pip install 'spectral-theory[nn]' "
                      "(CPU wheel: pip install torch --index-url https://download.pytorch.org/whl/cpu)") from e

__all__ = ["torch", "seed_sequence", "torch_generator", "torch_dtype"]


def seed_sequence(rng) -> np.random.SeedSequence:
    """A ``SeedSequence`` from a SeedSequence, an integer seed, None, or a numpy Generator (whose
    stream is advanced by drawing 128 bits of entropy, so two calls give independent sequences)."""
    if isinstance(rng, np.random.SeedSequence):
        return rng
    if rng is None or (isinstance(rng, numbers.Integral) and not isinstance(rng, bool)):
        return np.random.SeedSequence(rng)
    if isinstance(rng, np.random.Generator):
        return np.random.SeedSequence(rng.integers(0, 2**32, size=4, dtype=np.uint64).tolist())
    raise SpectralTheoryError(f"`rng` must be a numpy Generator, a SeedSequence, an integer seed or None; "
                              f"got {type(rng).__name__}")


def torch_generator(ss: np.random.SeedSequence, device="cpu") -> "torch.Generator":
    """A torch Generator seeded from a SeedSequence (63 bits of its state)."""
    g = torch.Generator(device=device)
    g.manual_seed(int(ss.generate_state(1, dtype=np.uint64)[0] >> np.uint64(1)))
    return g


def torch_dtype(dtype) -> "torch.dtype":
    """torch.float32 / torch.float64 from a torch or numpy dtype or its name."""
    if dtype in (torch.float32, torch.float64):
        return dtype
    try:
        name = np.dtype(dtype).name
    except TypeError as e:
        raise SpectralTheoryError(f"`dtype` must be float32 or float64; got {dtype!r}") from e
    if name not in ("float32", "float64"):
        raise SpectralTheoryError(f"`dtype` must be float32 or float64; got {dtype!r}")
    return getattr(torch, name)


def reset_parameters(module, generator) -> None:
    """Re-initialise every Linear/Conv layer of ``module`` from ``generator`` (no global torch RNG):
    weights uniform with variance 1/fan_in (LeCun), biases zero; other parameters are left alone."""
    with torch.no_grad():
        for m in module.modules():
            if isinstance(m, (torch.nn.Linear, torch.nn.Conv2d, torch.nn.ConvTranspose2d)):
                bound = (3.0 / m.weight[0].numel()) ** 0.5
                m.weight.uniform_(-bound, bound, generator=generator)
                if m.bias is not None:
                    m.bias.zero_()


class limit_threads:
    """Context manager: run torch with ``n`` intra-op threads (None: unchanged), restoring the setting.

    Small networks run fastest on one thread, and on a shared machine more threads than free cores make
    torch's spin-waiting workers slower by orders of magnitude."""

    def __init__(self, n):
        self.n = n

    def __enter__(self):
        self.saved = torch.get_num_threads()
        if self.n is not None:
            torch.set_num_threads(int(self.n))
        return self

    def __exit__(self, *exc):
        torch.set_num_threads(self.saved)
