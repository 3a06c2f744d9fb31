r"""Real data sets offline: bundled images and signals, and loaders for the user's own files.

Bundled (the optional extra ``data``: ``pip install 'spectral-theory[data]'``; nothing is ever
downloaded, every file is read from the installed wheels):

* :func:`digits` -- scikit-learn's 8 x 8 handwritten digits, (1797, 64);
* :func:`faces` -- the LFW subset of scikit-image, 25 x 25 faces (and non-faces), (100, 625);
* :func:`patches` -- random patches of the photographs of scikit-image and scikit-learn, e.g.
  8 x 8 -> D = 64, 16 x 16 -> 256, 8 x 8 x 3 -> 192;
* :func:`mnist1d` -- MNIST-1D signals of length 40 generated from the ``mnist1d`` wheel's templates.

Each returns float64 rows (n, D) (``return_labels=True`` adds int64 labels); :func:`dataset` returns
the same values as a :class:`Dataset` carrying the (H, W, C) image shape and the source.
:func:`load` reads the user's own MNIST idx, CIFAR-10/100 python batches and ``.npy``/``.npz`` files
(safely: a restricted unpickler, ``allow_pickle=False``) into a :class:`Dataset`.

One pixel convention for all images (:func:`rescale`): ``pixels="symmetric"`` (default) maps stored
values :math:`v \in [0, v_{\max}]` to :math:`x = 2v/v_{\max} - 1 \in [-1, 1]` (EDM's convention);
``"unit"`` to :math:`[0, 1]`; ``"raw"`` keeps v.  MNIST-1D is a signal, not pixels: returned as its
generator standardises it (mean 0, standard deviation 1 over the generated set).
"""
from ._bundled import (COLOR_PHOTOGRAPHS, DIGITS_LEVELS, DIGITS_SHAPE, GREY_PHOTOGRAPHS, LUMA, dataset, digits,
                       faces, mnist1d, patches)
from ._dataset import PIXELS, Dataset, rescale
from ._files import load

__all__ = ["Dataset", "dataset", "digits", "faces", "patches", "mnist1d", "load", "rescale", "PIXELS",
           "DIGITS_SHAPE", "DIGITS_LEVELS", "COLOR_PHOTOGRAPHS", "GREY_PHOTOGRAPHS", "LUMA"]
