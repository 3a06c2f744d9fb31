"""The :class:`Dataset` record and the one pixel convention shared by every data set."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..checks import SpectralTheoryError

#: the pixel conventions every image data set accepts (see :func:`rescale`)
PIXELS = ("symmetric", "unit", "raw")


def extra_missing(what: str, package: str) -> ImportError:
    """The ImportError for a missing optional package of the ``data`` extra (never imported by the core)."""
    return ImportError(f"spectral_theory.datasets.{what} needs {package} (its wheel ships the data; nothing is "
                       f"downloaded): pip install 'spectral-theory[data]'  (or: pip install {package})")


def rescale(values, levels: float, pixels: str) -> np.ndarray:
    r"""Stored pixel values :math:`v \in [0, v_{\max}]` (``levels`` = :math:`v_{\max}`) to float64.

    ``"symmetric"``: :math:`x = 2 v / v_{\max} - 1 \in [-1, 1]` (the EDM/paper convention for images,
    the default everywhere); ``"unit"``: :math:`x = v / v_{\max} \in [0, 1]`; ``"raw"``: :math:`x = v`.
    """
    v = np.asarray(values, dtype=np.float64)
    if pixels == "symmetric":
        return v * (2.0 / levels) - 1.0
    if pixels == "unit":
        return v / levels
    if pixels == "raw":
        return v
    raise SpectralTheoryError(f"`pixels` must be one of {PIXELS}; got {pixels!r}")


@dataclass(frozen=True, eq=False)
class Dataset:
    """A data set as rows of float64 pixels plus what a network needs to fold them back into images.

    Attributes
    ----------
    data : (n, D) float64 array, one flattened image per row in (H, W, C) order (C fastest).
    image_shape : (H, W, C) with H W C = D; a 1-D signal of length L is (1, L, 1).
    labels : (n,) int64 array, or None when the source has none.
    name : short name ("digits", "faces", "patches", "mnist1d", "mnist", "cifar10", "array").
    source : where the values came from (files, package), for reports.
    pixels : the pixel convention of ``data`` (one of :data:`PIXELS`, or "as generated" for MNIST-1D).

    ``np.asarray(dataset)`` is ``dataset.data``, so a Dataset goes wherever an (n, D) array does, e.g.
    ``st.Gaussian.from_samples(dataset)``.
    """

    data: np.ndarray
    image_shape: tuple
    labels: np.ndarray | None
    name: str
    source: str
    pixels: str

    def __post_init__(self):
        data = np.asarray(self.data, dtype=np.float64)
        shape = tuple(int(s) for s in self.image_shape)
        if data.ndim != 2 or len(shape) != 3 or int(np.prod(shape)) != data.shape[1]:
            raise SpectralTheoryError(f"{self.name}: data of shape {data.shape} do not hold images of shape "
                                      f"(H, W, C) = {shape}")
        labels = None if self.labels is None else np.asarray(self.labels, dtype=np.int64)
        if labels is not None and labels.shape != (data.shape[0],):
            raise SpectralTheoryError(f"{self.name}: {labels.shape[0] if labels.ndim else 1} labels for "
                                      f"{data.shape[0]} images")
        object.__setattr__(self, "data", data)
        object.__setattr__(self, "image_shape", shape)
        object.__setattr__(self, "labels", labels)

    def __array__(self, dtype=None, copy=None):
        if copy is False and dtype not in (None, np.float64):
            raise ValueError("a copy is needed to change the dtype")
        out = self.data if dtype is None else self.data.astype(dtype, copy=False)
        return out.copy() if copy else out

    def __len__(self) -> int:
        return self.data.shape[0]

    @property
    def dim(self) -> int:
        """D = H W C, the length of one row."""
        return self.data.shape[1]

    def images(self) -> np.ndarray:
        """The data as an (n, H, W, C) view (channels last)."""
        return self.data.reshape((-1,) + self.image_shape)

    def __repr__(self) -> str:
        return (f"Dataset({self.name!r}, n={len(self)}, image_shape={self.image_shape}, "
                f"labels={'yes' if self.labels is not None else 'no'}, pixels={self.pixels!r})")
