r"""The user's own data files: MNIST (idx), CIFAR-10/100 (python pickle batches), ``.npy``/``.npz``.

The format is told by the file's content, not its name: gzip (``1f 8b``) is unpacked first, then
``\x93NUMPY`` is ``.npy``, ``PK`` is ``.npz``, a zero first byte is an idx file (LeCun's format: a
big-endian magic ``0x0000 TT NN``, type ``TT = 08`` unsigned byte, ``NN`` dimensions, then ``NN``
big-endian uint32 sizes and the values), ``\x80`` is a pickle.

A pickle can run code when it is loaded, so CIFAR batches go through :class:`_CifarUnpickler`, whose
``find_class`` admits only what a batch pickled by numpy 1.x or 2.x references (the array
reconstructors, ``numpy.ndarray``, ``numpy.dtype`` and ``_codecs.encode`` for protocol-2 bytes);
``.npy``/``.npz`` are read with ``allow_pickle=False``.

References: Y. LeCun, C. Cortes, C. J. C. Burges, "The MNIST database" (file format section);
A. Krizhevsky, "Learning Multiple Layers of Features from Tiny Images" (2009), the CIFAR-10 python
version's ``unpickle``.
"""
from __future__ import annotations

import codecs
import gzip
import io
import pickle
import re
import struct
import zipfile
import zlib
from pathlib import Path

import numpy as np

from ..checks import SpectralTheoryError, SpectralTheoryException
from ._dataset import Dataset, rescale

IDX_IMAGES, IDX_LABELS = 2051, 2049        # 0x00000803: ubyte, 3 dims; 0x00000801: ubyte, 1 dim
CIFAR_SHAPE = (32, 32, 3)
_NPZ_KEYS = (("x", "y"), ("images", "labels"), ("data", "labels"), ("X", "y"), ("x_train", "y_train"))


def _fail(path, what) -> SpectralTheoryError:
    return SpectralTheoryError(f"{path}: {what}")


def _read_bytes(path: Path) -> bytes:
    try:
        raw = path.read_bytes()
    except OSError as e:
        raise _fail(path, f"cannot be read ({e.strerror or e})") from e
    if raw[:2] == b"\x1f\x8b":
        try:
            return gzip.decompress(raw)
        except (OSError, EOFError, zlib.error) as e:
            raise _fail(path, f"corrupt or truncated gzip data ({e})") from e
    return raw


# ---- idx (MNIST) ---------------------------------------------------------------------------------
def _read_idx(path: Path, expected: int, raw: bytes | None = None) -> np.ndarray:
    """The values of an MNIST idx file whose magic must be ``expected`` (2051 images, 2049 labels)."""
    raw = _read_bytes(path) if raw is None else raw
    if len(raw) < 8:
        raise _fail(path, f"truncated idx header ({len(raw)} bytes)")
    (magic,) = struct.unpack(">I", raw[:4])
    if magic != expected:
        kinds = {IDX_IMAGES: "an images file", IDX_LABELS: "a labels file"}
        what = f" ({kinds[magic]})" if magic in kinds else ""
        raise _fail(path, f"bad magic number {magic}{what}; expected {expected} "
                          f"({'images' if expected == IDX_IMAGES else 'labels'}, unsigned bytes)")
    ndim = magic & 0xFF
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise _fail(path, f"truncated idx header ({len(raw)} bytes, {header} needed for {ndim} dimensions)")
    dims = struct.unpack(f">{ndim}I", raw[4:header])
    if ndim == 3 and min(dims[1:]) == 0:
        raise _fail(path, f"image dimensions {dims[1]} x {dims[2]} are empty")
    size = int(np.prod(dims, dtype=np.int64))
    if len(raw) - header != size:
        state = "truncated" if len(raw) - header < size else "has trailing bytes"
        raise _fail(path, f"{state}: header says {' x '.join(map(str, dims))} = {size} values, the file holds "
                          f"{len(raw) - header}")
    return np.frombuffer(raw, dtype=np.uint8, offset=header).reshape(dims)


def _labels_sibling(path: Path) -> Path | None:
    """``train-images-idx3-ubyte[.gz]`` -> an existing ``train-labels-idx1-ubyte[.gz]``, else None."""
    stem = path.name[:-3] if path.name.endswith(".gz") else path.name
    guess = stem.replace("images", "labels").replace("idx3", "idx1")
    if guess == stem:
        return None
    for name in (guess, guess + ".gz"):
        if (path.parent / name).is_file():
            return path.parent / name
    return None


def _load_labels(labels, n: int, data_path: Path) -> np.ndarray | None:
    if labels is None:
        return None
    if isinstance(labels, (str, Path)):
        lp = Path(labels)
        raw, where = _read_bytes(lp), str(lp)
        try:
            y = np.load(io.BytesIO(raw), allow_pickle=False) if raw[:6] == b"\x93NUMPY" else None
        except ValueError as e:                                  # object arrays need pickle: refused
            raise _fail(lp, f"not a readable .npy array ({e})") from e
        y = _read_idx(lp, IDX_LABELS, raw) if y is None else y
    else:
        y, where = np.asarray(labels), "`labels`"
    if y.ndim != 1 or not (np.issubdtype(y.dtype, np.integer) or y.size == 0):
        raise SpectralTheoryError(f"{where}: labels must be a 1-D integer array; got shape {y.shape}, dtype {y.dtype}")
    if y.shape[0] != n:
        raise SpectralTheoryError(f"{where}: {y.shape[0]} labels for the {n} images of {data_path}")
    return y.astype(np.int64)


def _load_mnist(path: Path, labels, pixels: str, raw: bytes | None = None) -> Dataset:
    X = _read_idx(path, IDX_IMAGES, raw)                           # (n, H, W) uint8
    lp = labels if labels is not None else _labels_sibling(path)
    y = _load_labels(lp, X.shape[0], path)
    source = str(path) + (f" + {lp}" if isinstance(lp, (str, Path)) else "")
    return Dataset(rescale(X.reshape(X.shape[0], -1), 255.0, pixels), X.shape[1:] + (1,), y, "mnist", source, pixels)


# ---- CIFAR pickles -------------------------------------------------------------------------------
class _Refused(SpectralTheoryException, pickle.UnpicklingError):
    """A global the unpickler will not hand out (told apart from a merely garbled pickle)."""


def _latin1_encode(obj, encoding="utf-8", errors="strict"):
    """``_codecs.encode`` as protocol-2 pickles of bytes call it (latin1 only: no other codec runs)."""
    if encoding != "latin1" or errors != "strict" or not isinstance(obj, str):
        raise _Refused(f"_codecs.encode with {encoding!r} is not part of a CIFAR batch")
    return codecs.encode(obj, "latin1")


def _allowed_globals() -> dict:
    reconstruct = np._core.multiarray._reconstruct
    frombuffer = np._core.numeric._frombuffer
    allowed = {("numpy", "ndarray"): np.ndarray, ("numpy", "dtype"): np.dtype, ("_codecs", "encode"): _latin1_encode}
    for core in ("numpy.core", "numpy._core"):               # numpy 1.x and 2.x pickles
        allowed[(f"{core}.multiarray", "_reconstruct")] = reconstruct
        allowed[(f"{core}.numeric", "_frombuffer")] = frombuffer
    return allowed


class _CifarUnpickler(pickle.Unpickler):
    """Unpickles only plain containers, strings, numbers and numpy arrays; any other global is refused."""

    def find_class(self, module, name):
        try:
            return _allowed_globals()[(module, name)]
        except KeyError:
            raise _Refused(f"refused global {module}.{name}: a CIFAR batch holds only "
                                         f"numpy arrays, lists, strings and numbers") from None


def _read_cifar_batch(path: Path) -> tuple:
    """(data (m, 3072) uint8 in the CHW-row layout, labels (m,), label key) of one batch file."""
    raw = _read_bytes(path)
    try:
        batch = _CifarUnpickler(io.BytesIO(raw), encoding="bytes").load()
    except _Refused as e:
        raise _fail(path, f"refused to unpickle: {e}") from e
    except Exception as e:                                      # truncated or garbled pickles raise anything
        raise _fail(path, f"not a readable CIFAR batch pickle ({type(e).__name__}: {e})") from e
    if not isinstance(batch, dict):
        raise _fail(path, f"a CIFAR batch is a dict; got {type(batch).__name__}")
    batch = {k.decode("latin1") if isinstance(k, bytes) else k: v for k, v in batch.items()}
    if "data" not in batch:
        raise _fail(path, f"no 'data' entry (keys: {sorted(map(str, batch))})")
    data = batch["data"]
    if not (isinstance(data, np.ndarray) and data.dtype == np.uint8 and data.ndim == 2
            and data.shape[1] == int(np.prod(CIFAR_SHAPE))):
        raise _fail(path, f"'data' must be a (m, 3072) uint8 array (32 x 32 x 3 per row); got "
                          f"{getattr(data, 'shape', type(data).__name__)} {getattr(data, 'dtype', '')}")
    key = next((k for k in ("labels", "fine_labels") if k in batch), None)
    if key is None:
        raise _fail(path, "no 'labels' (CIFAR-10) or 'fine_labels' (CIFAR-100) entry")
    y = np.asarray(batch[key])
    if y.ndim != 1 or not np.issubdtype(y.dtype, np.integer):
        raise _fail(path, f"'{key}' must be a list of integers; got shape {y.shape}, dtype {y.dtype}")
    if y.shape[0] != data.shape[0]:
        raise _fail(path, f"{y.shape[0]} labels for {data.shape[0]} images")
    return data, y, key


def _load_cifar(paths: list, pixels: str) -> Dataset:
    parts = [_read_cifar_batch(p) for p in paths]
    if len({k for _, _, k in parts}) > 1:
        raise SpectralTheoryError(f"{paths[0].parent}: CIFAR-10 and CIFAR-100 batches mixed")
    data = np.concatenate([d for d, _, _ in parts])
    # rows are 1024 red, 1024 green, 1024 blue values, each channel row-major: CHW -> HWC
    hwc = data.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1).reshape(data.shape[0], -1)
    name = "cifar100" if parts[0][2] == "fine_labels" else "cifar10"
    return Dataset(rescale(hwc, 255.0, pixels), CIFAR_SHAPE, np.concatenate([y for _, y, _ in parts]), name,
                   " + ".join(map(str, paths)), pixels)


# ---- .npy / .npz ---------------------------------------------------------------------------------
def _array_from_npz(path: Path, raw: bytes) -> tuple:
    try:
        with np.load(io.BytesIO(raw), allow_pickle=False) as z:
            keys = list(z.files)
            for xk, yk in _NPZ_KEYS:
                if xk in keys:
                    return z[xk], (z[yk] if yk in keys else None)
            if len(keys) == 1:
                return z[keys[0]], None
    except (ValueError, OSError, zipfile.BadZipFile, EOFError) as e:
        raise _fail(path, f"not a readable .npz archive ({e})") from e
    raise _fail(path, f"no data array: expected one of the keys {[x for x, _ in _NPZ_KEYS]} (labels "
                      f"{[y for _, y in _NPZ_KEYS]}) or a single array; found {keys}")


def _load_array(path: Path, raw: bytes, labels, image_shape, pixels: str) -> Dataset:
    if raw[:2] == b"PK":
        X, y = _array_from_npz(path, raw)
    else:
        try:
            X, y = np.load(io.BytesIO(raw), allow_pickle=False), None
        except ValueError as e:                                  # object arrays need pickle: refused
            raise _fail(path, f"not a readable .npy array ({e})") from e
    if X.dtype.kind not in "buif" or X.ndim not in (2, 3, 4) or X.shape[0] == 0:
        raise _fail(path, f"expected n images as a numeric (n, D), (n, H, W) or (n, H, W, C) array; "
                          f"got shape {X.shape}, dtype {X.dtype}")
    n = X.shape[0]
    if image_shape is None:
        image_shape = {2: (1, X.shape[-1], 1), 3: X.shape[1:] + (1,), 4: X.shape[1:]}[X.ndim]
    image_shape = tuple(int(s) for s in image_shape)
    if len(image_shape) != 3 or int(np.prod(image_shape)) != X[0].size:
        raise _fail(path, f"`image_shape` {image_shape} does not hold the {X[0].size} values of one image")
    X = X.reshape(n, -1)
    if X.dtype.kind in "ub":
        levels = 1.0 if X.dtype.kind == "b" else float(np.iinfo(X.dtype).max)
    else:
        levels = 1.0
        if not np.all(np.isfinite(X)):
            raise _fail(path, "holds non-finite values")
        if pixels != "raw" and (X.min() < 0 or X.max() > 1):
            raise _fail(path, f"{X.dtype} values in [{X.min():g}, {X.max():g}]: pixels={pixels!r} needs pixel "
                              f"values in [0, 1] (or unsigned integers); pass pixels='raw' to keep them as they are")
    y = _load_labels(labels if labels is not None else y, n, path)
    return Dataset(rescale(X, levels, pixels), image_shape, y, "array", str(path), pixels)


# ---- dispatch ------------------------------------------------------------------------------------
def _cifar_batches(folder: Path) -> list:
    train = sorted(folder.glob("data_batch_*"), key=lambda p: int(re.sub(r"\D", "", p.name) or 0))
    return train + sorted(folder.glob("test_batch*"))


def _mnist_images(folder: Path) -> list:
    found = {}
    for p in sorted(folder.iterdir()):
        if p.is_file() and re.search(r"images.idx3.ubyte", p.name):
            found.setdefault(p.name.removesuffix(".gz"), p)         # a file and its .gz: read one of them
    return sorted(found.values(), key=lambda p: ("t10k" in p.name or "test" in p.name, p.name))


def load(path, labels=None, image_shape=None, pixels="symmetric") -> Dataset:
    r"""Load the user's own MNIST, CIFAR-10/100 or array files as a :class:`Dataset`.

    Formats (told by content; gzip-compressed files are unpacked first):

    * **MNIST idx** (also Fashion-MNIST, KMNIST): the images file (magic 2051); its labels (magic
      2049) from ``labels`` or the sibling named with ``labels``/``idx1`` for ``images``/``idx3``
      (``train-images-idx3-ubyte.gz`` -> ``train-labels-idx1-ubyte.gz``), else no labels.  Image
      shape (28, 28, 1) for MNIST (the header's rows x cols).
    * **CIFAR-10/100 python batches** (``data_batch_1`` ... ``test_batch``): a dict with ``data``
      (m, 3072) uint8 rows in channel-major order (1024 R, 1024 G, 1024 B) and ``labels``
      (``fine_labels`` for CIFAR-100); returned as (32, 32, 3) channels-last rows.
    * **.npy / .npz**: an (n, D), (n, H, W) or (n, H, W, C) array (channels last); in an ``.npz`` the
      data under ``x``/``images``/``data``/``X``/``x_train`` (or its single array) and the labels under
      the matching ``y``/``labels``/``y_train``.  An (n, D) array is a 1-D signal (1, D, 1) unless
      ``image_shape`` says otherwise.  Unsigned integers are pixel levels 0..max of the dtype (255 for
      uint8); floats must already be in [0, 1] unless ``pixels="raw"``.
    * **a folder**: all CIFAR batches in it (``data_batch_*`` in order, then ``test_batch``), or else
      all MNIST images files in it (train, then ``t10k``), concatenated.

    Parameters
    ----------
    path : a file or a folder.
    labels : labels for idx or array data: a path (idx labels file or ``.npy``) or an array.
    image_shape : (H, W, C) of one row of array data (rows in H, W, C order).
    pixels : "symmetric" (default): pixels v in [0, v_max] -> 2 v/v_max - 1 in [-1, 1]; "unit": v/v_max;
        "raw": v (see :func:`spectral_theory.datasets.rescale`).

    Returns
    -------
    Dataset with float64 ``data`` (n, H W C), ``image_shape``, int64 ``labels`` (or None), ``source``.

    Raises
    ------
    SpectralTheoryError naming the file and what is wrong: unknown format, bad magic number, truncated
    or oversized payload, labels count mismatch, a pickle that references anything but numpy arrays.
    """
    path = Path(path)
    if path.is_dir():
        batches, images = _cifar_batches(path), []
        if batches:
            return _load_cifar(batches, pixels)
        images = _mnist_images(path)
        if not images:
            raise _fail(path, "folder holds neither CIFAR batches (data_batch_*, test_batch) nor MNIST "
                              "images files (*-images-idx3-ubyte[.gz])")
        parts = [_load_mnist(p, None, pixels) for p in images]
        if len({d.image_shape for d in parts}) > 1 or len({d.labels is None for d in parts}) > 1:
            raise _fail(path, "its MNIST files differ in image size or in having labels")
        y = None if parts[0].labels is None else np.concatenate([d.labels for d in parts])
        return Dataset(np.concatenate([d.data for d in parts]), parts[0].image_shape, y, "mnist",
                       " + ".join(d.source for d in parts), pixels)
    if not path.is_file():
        raise SpectralTheoryError(f"{path}: no such file or folder")
    raw = _read_bytes(path)
    if raw[:6] == b"\x93NUMPY" or raw[:2] == b"PK":
        return _load_array(path, raw, labels, image_shape, pixels)
    if image_shape is not None:
        raise SpectralTheoryError(f"{path}: `image_shape` is for .npy/.npz arrays; idx and CIFAR files carry "
                                  f"their own")
    if raw[:1] == b"\x80":
        if labels is not None:
            raise SpectralTheoryError(f"{path}: a CIFAR batch carries its own labels; `labels` is for idx and "
                                      f"array files")
        return _load_cifar([path], pixels)
    if len(raw) >= 4 and raw[:2] == b"\x00\x00":
        return _load_mnist(path, labels, pixels, raw)
    raise _fail(path, "unrecognised format: not an MNIST idx file, a CIFAR python batch, .npy or .npz")
