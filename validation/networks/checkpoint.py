"""Training checkpoints: written atomically, read back without running code.

:func:`save_checkpoint` writes to a temporary file in the target's directory, flushes it to disk and
renames it over the target (``os.replace`` is atomic on POSIX and Windows), so a process killed at any
moment leaves either the previous checkpoint or the new one, never a torn file.
:func:`load_checkpoint` uses ``torch.load(..., weights_only=True)``: only tensors, dicts, lists,
tuples and primitive values are unpickled, so a checkpoint from elsewhere that carries an arbitrary
object (a pickle ``__reduce__`` payload) is refused instead of executed.
"""
from __future__ import annotations

import os
import pickle

from spectral_theory.checks import SpectralTheoryError

from ._torch import torch

__all__ = ["save_checkpoint", "load_checkpoint"]


def save_checkpoint(path, state: dict) -> None:
    """Write ``state`` (tensors, dicts, lists, primitives) to ``path`` atomically."""
    path = os.fspath(path)
    tmp = f"{path}.tmp-{os.getpid()}"
    try:
        with open(tmp, "wb") as fh:
            torch.save(state, fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def load_checkpoint(path) -> dict:
    """Read a checkpoint with ``weights_only=True``; anything but plain data is refused.

    Raises
    ------
    SpectralTheoryError : the file is not a checkpoint or holds objects other than tensors and plain data.
    """
    path = os.fspath(path)
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except (pickle.UnpicklingError, RuntimeError, EOFError) as e:
        raise SpectralTheoryError(f"`checkpoint` {path!r} was refused: it is not a plain-data torch checkpoint "
                                  f"(weights_only=True loading failed: {str(e).splitlines()[0]})") from e
    if not isinstance(state, dict) or "step" not in state:
        raise SpectralTheoryError(f"`checkpoint` {path!r} is not a training checkpoint of validation.networks")
    return state
