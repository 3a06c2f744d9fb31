r"""Small real data sets that ship inside installable packages (never downloaded at run time).

:func:`digits` is scikit-learn's copy of the UCI optical-recognition handwritten digits: 1,797 images
of 8 x 8 pixels with 17 grey levels (0..16), ten classes.  The files are part of the scikit-learn
wheel (``sklearn/datasets/data/digits.csv.gz``), so loading needs no network.  scikit-learn is the
optional extra ``data``: ``pip install spectral-theory[data]``.

Reference: E. Alpaydin, C. Kaynak, "Optical Recognition of Handwritten Digits", UCI Machine Learning
Repository (1998); scikit-learn ``sklearn.datasets.load_digits``.
"""
from __future__ import annotations

import numpy as np

from ._checks import SpectralTheoryError, integer

__all__ = ["digits", "DIGITS_SHAPE", "DIGITS_LEVELS"]

#: image shape and the number of grey levels of :func:`digits`
DIGITS_SHAPE = (8, 8)
DIGITS_LEVELS = 16

_MISSING = ("spectral_theory.datasets.digits needs scikit-learn (its wheel ships the data set; nothing "
            "is downloaded): pip install 'spectral-theory[data]'  (or: pip install scikit-learn)")


def digits(scale="symmetric", classes=None, return_labels=False):
    r"""The 8 x 8 handwritten digits as float64 rows (N, 64).

    Parameters
    ----------
    scale : "symmetric" maps the grey levels 0..16 to [-1, 1] (the EDM/paper convention for images,
        x = 2 v/16 - 1); "unit" to [0, 1]; "raw" keeps 0..16.
    classes : optional iterable of digit classes (0..9) to keep.
    return_labels : also return the (N,) integer labels.

    Raises
    ------
    ImportError if scikit-learn is not installed (with the install command).
    """
    try:
        from sklearn.datasets import load_digits
    except ImportError as e:
        raise ImportError(_MISSING) from e
    bunch = load_digits()
    X = np.asarray(bunch.data, dtype=np.float64)
    y = np.asarray(bunch.target, dtype=np.int64)
    if classes is not None:
        keep = [integer(c, "classes", minimum=0, maximum=9) for c in np.atleast_1d(classes)]
        if not keep:
            raise SpectralTheoryError("`classes` must not be empty")
        mask = np.isin(y, keep)
        X, y = X[mask], y[mask]
    if scale == "symmetric":
        X = 2.0 * X / DIGITS_LEVELS - 1.0
    elif scale == "unit":
        X = X / DIGITS_LEVELS
    elif scale != "raw":
        raise SpectralTheoryError(f"`scale` must be 'symmetric', 'unit' or 'raw'; got {scale!r}")
    return (X, y) if return_labels else X
