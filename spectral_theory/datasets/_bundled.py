r"""Real data sets that ship inside installable wheels: digits, faces, photograph patches, MNIST-1D.

Nothing here touches the network: every file is read by its path inside the installed package
(scikit-learn, scikit-image), and MNIST-1D is generated from the templates in the ``mnist1d`` wheel.
Each public function returns float64 rows (n, D) (and int64 labels with ``return_labels=True``);
:func:`dataset` returns the same values as a :class:`Dataset` with the (H, W, C) image shape.
"""
from __future__ import annotations

import functools
import math
import random
from importlib import resources

import numpy as np

from ..checks import SpectralTheoryError, as_generator, integer, sample_count
from ..parameters import renamed
from ._dataset import Dataset, extra_missing, rescale

#: image shape and the number of grey levels of :func:`digits`
DIGITS_SHAPE = (8, 8)
DIGITS_LEVELS = 16
FACES_SHAPE = (25, 25)
MNIST1D_LENGTH = 40

#: the photographs :func:`patches` cuts from, as (package, file inside its ``data`` folder)
COLOR_PHOTOGRAPHS = (("skimage", "astronaut.png"), ("skimage", "chelsea.png"), ("skimage", "coffee.png"),
                     ("skimage", "rocket.jpg"), ("sklearn", "china.jpg"), ("sklearn", "flower.jpg"))
GREY_PHOTOGRAPHS = (("skimage", "camera.png"), ("skimage", "coins.png"), ("skimage", "moon.png"),
                    ("skimage", "brick.png"), ("skimage", "grass.png"), ("skimage", "gravel.png"))
#: Rec. 709 luma weights (those of ``skimage.color.rgb2gray``) for grey patches of colour photographs
LUMA = np.array([0.2125, 0.7154, 0.0721])

_DATA_DIRS = {"skimage": ("skimage.data", "scikit-image"), "sklearn": ("sklearn.datasets.images", "scikit-learn")}


def _package_file(package: str, name: str, what: str):
    """Path of a data file inside an installed wheel (read directly: no fetcher, so never a download)."""
    module, dist = _DATA_DIRS[package]
    try:
        path = resources.files(module) / name
    except ImportError as e:
        raise extra_missing(what, dist) from e
    if not path.is_file():
        raise SpectralTheoryError(f"{dist} is installed but its wheel has no {name!r} ({path}); "
                                  f"spectral_theory.datasets.{what} never downloads it")
    return path


def _arrays(ds: Dataset, return_labels: bool):
    return (ds.data, ds.labels) if return_labels else ds.data


# ---- digits --------------------------------------------------------------------------------------
def _digits(pixels="symmetric", classes=None) -> Dataset:
    try:
        from sklearn.datasets import load_digits
    except ImportError as e:
        raise extra_missing("digits", "scikit-learn") from e
    bunch = load_digits()
    X = np.asarray(bunch.data, dtype=np.float64)
    y = np.asarray(bunch.target, dtype=np.int64)
    if classes is not None:
        keep = [integer(c, "classes", minimum=0, maximum=9) for c in np.atleast_1d(classes)]
        if not keep:
            raise SpectralTheoryError("`classes` must not be empty")
        mask = np.isin(y, keep)
        X, y = X[mask], y[mask]
    return Dataset(rescale(X, DIGITS_LEVELS, pixels), DIGITS_SHAPE + (1,), y, "digits",
                   "scikit-learn wheel: sklearn/datasets/data/digits.csv.gz (UCI optical digits)", pixels)


@renamed(scale="pixels")
def digits(pixels="symmetric", classes=None, return_labels=False):
    r"""The 8 x 8 handwritten digits as float64 rows (1797, 64): image shape (8, 8, 1).

    scikit-learn's copy of the UCI optical-recognition digits: 17 grey levels v = 0..16, ten classes.

    Parameters
    ----------
    pixels : "symmetric" maps the grey levels to [-1, 1] (x = 2 v/16 - 1, the EDM/paper convention
        for images); "unit" to [0, 1]; "raw" keeps 0..16.
    classes : optional iterable of digit classes (0..9) to keep.
    return_labels : also return the (n,) int64 labels.

    Raises
    ------
    ImportError if scikit-learn is not installed (with the install command).

    Notes
    -----
    ``scale=`` is the deprecated spelling of ``pixels=`` (``scale`` names the Marchenko-Pastur entry
    variance).

    References
    ----------
    E. Alpaydin, C. Kaynak, "Optical Recognition of Handwritten Digits", UCI Machine Learning
    Repository (1998); scikit-learn ``sklearn.datasets.load_digits``.
    """
    return _arrays(_digits(pixels, classes), return_labels)


# ---- faces ---------------------------------------------------------------------------------------
def _faces(kind="faces", pixels="symmetric") -> Dataset:
    keep = {"faces": slice(0, 100), "nonfaces": slice(100, 200), "all": slice(0, 200)}
    if kind not in keep:
        raise SpectralTheoryError(f"`kind` must be 'faces', 'nonfaces' or 'all'; got {kind!r}")
    path = _package_file("skimage", "lfw_subset.npy", "faces")
    with path.open("rb") as f:
        images = np.load(f, allow_pickle=False)            # (200, 25, 25) float in [0, 1]
    if images.shape != (200,) + FACES_SHAPE:
        raise SpectralTheoryError(f"{path}: expected 200 images of 25 x 25; got shape {images.shape}")
    labels = np.repeat(np.array([1, 0], dtype=np.int64), 100)
    X = images.reshape(200, -1)[keep[kind]]
    return Dataset(rescale(X, 1.0, pixels), FACES_SHAPE + (1,), labels[keep[kind]], "faces",
                   "scikit-image wheel: skimage/data/lfw_subset.npy (Labeled Faces in the Wild subset)", pixels)


def faces(kind="faces", pixels="symmetric", return_labels=False):
    r"""Faces of the LFW subset bundled with scikit-image, float64 rows (n, 625): image shape (25, 25, 1).

    200 grey images of 25 x 25 pixels, stored in [0, 1]: 100 face crops from Labeled Faces in the Wild,
    then 100 non-face crops from the backgrounds of the same photographs.

    Parameters
    ----------
    kind : "faces" (the 100 faces, label 1), "nonfaces" (the 100 others, label 0) or "all" (200).
    pixels : "symmetric" maps the stored v in [0, 1] to x = 2 v - 1 in [-1, 1]; "unit" and "raw" keep v.
    return_labels : also return the (n,) int64 labels (1 face, 0 non-face).

    Raises
    ------
    ImportError if scikit-image is not installed (with the install command).

    References
    ----------
    G. B. Huang, M. Mattar, H. Lee, E. Learned-Miller, "Learning to align from scratch", NeurIPS 2012;
    scikit-image ``skimage.data.lfw_subset``.
    """
    return _arrays(_faces(kind, pixels), return_labels)


# ---- photograph patches --------------------------------------------------------------------------
@functools.lru_cache(maxsize=2)
def _photographs(color: bool) -> tuple:
    """The photographs as read-only arrays: (H, W, 3) uint8 for colour, (H, W, 1) float64 grey levels
    (the grey photographs and the Rec. 709 luma of the colour ones) otherwise."""
    try:
        from PIL import Image
    except ImportError as e:
        raise extra_missing("patches", "scikit-image") from e
    out = []
    for package, name in COLOR_PHOTOGRAPHS + (() if color else GREY_PHOTOGRAPHS):
        with _package_file(package, name, "patches").open("rb") as f, Image.open(f) as im:
            a = np.asarray(im.convert("RGB" if (package, name) in COLOR_PHOTOGRAPHS else "L"))
        a = a if color else (a @ LUMA if a.ndim == 3 else a.astype(np.float64))[..., None]
        a.setflags(write=False)
        out.append(a)
    return tuple(out)


def _patches(size, n, color=False, pixels="symmetric", rng=None) -> Dataset:
    size = integer(size, "size", minimum=1, maximum=300)
    # per patch: the output, its rescaled copy and the gathered window (size^2 C each), indices and uniforms
    n = sample_count(n, "n", 3 * size * size * (3 if color else 1) + 8)
    rng = as_generator(rng)
    photos = _photographs(bool(color))
    rows = np.array([p.shape[0] - size + 1 for p in photos])
    cols = np.array([p.shape[1] - size + 1 for p in photos])
    # uniform over all size x size windows of all photographs: image k with probability ~ its window count
    k = rng.choice(len(photos), size=n, p=rows * cols / np.sum(rows * cols))          # (n,)
    u = rng.random((n, 2))
    r, c = (u[:, 0] * rows[k]).astype(np.int64), (u[:, 1] * cols[k]).astype(np.int64)
    C = photos[0].shape[2]
    out = np.empty((n, size, size, C))
    for j, p in enumerate(photos):                          # a loop over the photographs, not the patches
        sel = np.flatnonzero(k == j)
        windows = np.lib.stride_tricks.sliding_window_view(p, (size, size), axis=(0, 1))  # (R, C', C, s, s)
        out[sel] = windows[r[sel], c[sel]].transpose(0, 2, 3, 1)
    names = ", ".join(f for _, f in COLOR_PHOTOGRAPHS + (() if color else GREY_PHOTOGRAPHS))
    return Dataset(rescale(out.reshape(n, -1), 255.0, pixels), (size, size, C), k, "patches",
                   f"random {size}x{size} {'colour' if color else 'grey'} patches of the photographs in the "
                   f"scikit-image and scikit-learn wheels ({names})", pixels)


def patches(size, n, color=False, pixels="symmetric", rng=None, return_labels=False):
    r"""Random ``size`` x ``size`` patches of the photographs bundled with scikit-image and scikit-learn.

    Float64 rows (n, D) with D = size^2 (grey) or 3 size^2 (``color``): 8 -> 64, 16 -> 256, 8 colour
    -> 192; image shape (size, size, 1) or (size, size, 3).  Each patch is uniform over all windows of
    all the photographs (a photograph is picked with probability proportional to its number of windows,
    then a window uniformly in it).

    Photographs (all in the installed wheels, read by path, never downloaded):
    colour -- scikit-image astronaut (512 x 512), chelsea (300 x 451), coffee (400 x 600), rocket
    (427 x 640); scikit-learn china and flower (427 x 640);
    grey (``color=False``) -- the colour ones through the Rec. 709 luma
    :math:`v = 0.2125 R + 0.7154 G + 0.0721 B` (:data:`LUMA`), plus scikit-image camera, moon, brick,
    grass, gravel (512 x 512) and coins (303 x 384).

    Parameters
    ----------
    size : patch side in pixels, 1..300 (the smallest photograph is 300 high).
    n : number of patches.
    color : RGB patches (C = 3) of the colour photographs instead of grey ones.
    pixels : "symmetric" maps the 8-bit values v in [0, 255] to x = 2 v/255 - 1 in [-1, 1]; "unit"
        to v/255; "raw" keeps v.
    rng : Generator or seed (same seed -> identical patches).
    return_labels : also return (n,) int64 labels: the index of the source photograph in
        ``COLOR_PHOTOGRAPHS + GREY_PHOTOGRAPHS`` (colour: ``COLOR_PHOTOGRAPHS``).

    Raises
    ------
    ImportError if scikit-image (or scikit-learn, or Pillow) is not installed.
    """
    return _arrays(_patches(size, n, color, pixels, rng), return_labels)


# ---- MNIST-1D ------------------------------------------------------------------------------------
def _mnist1d(n, rng=None) -> Dataset:
    n = sample_count(n, "n", 512)                          # make_dataset holds about 2-3.5 KiB per sample
    rng = as_generator(rng)
    try:
        from mnist1d.data import get_dataset_args, make_dataset
    except ImportError as e:
        raise extra_missing("mnist1d", "mnist1d") from e
    args = get_dataset_args()
    args.num_samples = 10 * math.ceil(n / 10)               # make_dataset makes num_samples // 10 per class
    args.train_split = 1.0                                  # everything in 'x'
    args.seed = int(rng.integers(2**32))
    # make_dataset seeds and draws from the global numpy and random streams: restore them afterwards
    np_state, py_state = np.random.get_state(), random.getstate()
    try:
        out = make_dataset(args)                            # templates from the wheel; never get_dataset()
    finally:
        np.random.set_state(np_state)
        random.setstate(py_state)
    X = np.asarray(out["x"], dtype=np.float64)[:n]
    y = np.asarray(out["y"], dtype=np.int64)[:n]
    return Dataset(X, (1, MNIST1D_LENGTH, 1), y, "mnist1d",
                   "mnist1d wheel: make_dataset() from its digit templates (generated, not downloaded)",
                   "as generated")


def mnist1d(n, rng=None, return_labels=False):
    r"""MNIST-1D (Greydanus 2020): n one-dimensional digits of length 40, float64 rows (n, 40).

    Generated offline by the ``mnist1d`` package's ``make_dataset()`` from its ten digit templates
    (padding, shear, scale, translation, correlated and iid noise, the package's defaults); its
    ``get_dataset()``, which downloads, is never called.  Image shape (1, 40, 1) (a 1-D signal).

    Normalisation: as generated -- ``make_dataset`` centres and scales the whole generated set to mean
    0 and standard deviation 1 over all entries (one affine map; a signal has no pixel range).  The set
    is generated with ``10 ceil(n/10)`` samples (balanced classes, shuffled) and the first n are kept.

    Parameters
    ----------
    n : number of samples.
    rng : Generator or seed; a seed for the generator is drawn from it (same seed -> identical data).
        The global ``numpy.random`` and ``random`` states, which ``make_dataset`` reseeds, are restored.
    return_labels : also return the (n,) int64 digit labels.

    References
    ----------
    S. Greydanus, D. Kobak, "Scaling down deep learning with MNIST-1D", ICML 2024 (arXiv 2011.14439).
    """
    return _arrays(_mnist1d(n, rng), return_labels)


_BUILDERS = {"digits": _digits, "faces": _faces, "patches": _patches, "mnist1d": _mnist1d}


def dataset(name: str, **kwargs) -> Dataset:
    """A bundled data set as a :class:`Dataset` (rows, labels, (H, W, C) image shape, source).

    ``name`` is "digits", "faces", "patches" or "mnist1d"; ``kwargs`` are those of the function of
    that name (without ``return_labels``), e.g. ``dataset("patches", size=16, n=2000, rng=0)``.
    """
    if name not in _BUILDERS:
        raise SpectralTheoryError(f"`name` must be one of {sorted(_BUILDERS)}; got {name!r}")
    return _BUILDERS[name](**kwargs)
