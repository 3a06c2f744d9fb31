"""spectral_theory.datasets: bundled data sets (optional extra `data`) and load() of the user's files."""
import gzip
import os
import pickle
import struct
import sys

import numpy as np
import pytest

import spectral_theory as st
from spectral_theory.datasets import _bundled

D = st.datasets


# ---- digits ----------------------------------------------------------------------------------------
@pytest.fixture
def sklearn():
    return pytest.importorskip("sklearn")


def test_digits_shape_scale_and_labels(sklearn):
    X, y = D.digits(return_labels=True)
    assert X.shape == (1797, 64) and X.dtype == np.float64 and y.shape == (1797,)
    assert X.min() == -1.0 and X.max() == 1.0
    raw = D.digits(pixels="raw")
    np.testing.assert_array_equal(np.unique(raw), np.arange(17.0))     # 17 grey levels 0..16
    np.testing.assert_allclose(D.digits(pixels="unit"), raw / 16)
    assert set(np.unique(y)) == set(range(10))


def test_digits_scale_is_the_deprecated_spelling_of_pixels(sklearn):
    with pytest.warns(DeprecationWarning, match="`scale` is deprecated"):
        old = D.digits(scale="unit")
    np.testing.assert_array_equal(old, D.digits(pixels="unit"))


def test_digits_class_selection(sklearn):
    X, y = D.digits(classes=[0, 1], return_labels=True)
    assert set(np.unique(y)) == {0, 1} and X.shape[0] == np.sum(np.isin(D.digits(return_labels=True)[1], [0, 1]))


def test_digits_bad_input(sklearn):
    with pytest.raises(st.SpectralTheoryError, match="pixels"):
        D.digits(pixels="other")
    with pytest.raises(st.SpectralTheoryError, match="classes"):
        D.digits(classes=[12])


def test_missing_sklearn_gives_a_clear_error(monkeypatch):
    import builtins
    real_import = builtins.__import__

    def fake(name, *args, **kwargs):
        if name.startswith("sklearn"):
            raise ImportError("no sklearn")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", fake)
    with pytest.raises(ImportError, match="spectral-theory\\[data\\]"):
        D.digits()


def test_optional_packages_are_not_imported_by_the_package():
    import subprocess
    code = ("import sys, spectral_theory; "
            "print([m for m in ('sklearn', 'skimage', 'PIL', 'mnist1d') if m in sys.modules])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


# ---- faces, patches, mnist1d ----------------------------------------------------------------------
@pytest.fixture
def skimage():
    return pytest.importorskip("skimage")


def test_faces_shapes_ranges_labels(skimage):
    X, y = D.faces(return_labels=True)
    assert X.shape == (100, 625) and X.dtype == np.float64 and np.all(y == 1)
    assert -1.0 <= X.min() and X.max() <= 1.0 and X.std() > 0.1
    Xa, ya = D.faces("all", pixels="unit", return_labels=True)
    assert Xa.shape == (200, 625) and np.all(ya[:100] == 1) and np.all(ya[100:] == 0)
    assert 0.0 <= Xa.min() and Xa.max() <= 1.0
    # the same pixels as scikit-image's own reader, faces first
    np.testing.assert_array_equal(Xa, skimage.data.lfw_subset().reshape(200, -1))
    np.testing.assert_array_equal(D.faces("nonfaces", pixels="unit"), Xa[100:])
    np.testing.assert_array_equal(X, 2 * Xa[:100] - 1)
    ds = D.dataset("faces", kind="all")
    assert ds.image_shape == (25, 25, 1) and ds.images().shape == (200, 25, 25, 1) and ds.name == "faces"
    with pytest.raises(st.SpectralTheoryError, match="kind"):
        D.faces("cats")


@pytest.mark.parametrize("size, color, dim", [(8, False, 64), (16, False, 256), (8, True, 192)])
def test_patches_shapes_ranges_and_metadata(skimage, size, color, dim):
    ds = D.dataset("patches", size=size, n=300, color=color, rng=3)
    assert ds.data.shape == (300, dim) and ds.data.dtype == np.float64
    assert ds.image_shape == (size, size, 3 if color else 1)
    assert -1.0 <= ds.data.min() < -0.5 and 0.5 < ds.data.max() <= 1.0
    n_photos = len(D.COLOR_PHOTOGRAPHS) + (0 if color else len(D.GREY_PHOTOGRAPHS))
    assert set(np.unique(ds.labels)) <= set(range(n_photos)) and len(np.unique(ds.labels)) > n_photos // 2
    np.testing.assert_array_equal(np.asarray(ds), D.patches(size, 300, color=color, rng=3))


def _find(patch, image):
    """Does ``patch`` (s, s, C) occur in ``image`` (H, W, C)? (every window whose first row matches)"""
    s = patch.shape[0]
    rows = np.lib.stride_tricks.sliding_window_view(image[: image.shape[0] - s + 1], s, axis=1)  # (R, C', C, s)
    first = np.all(np.abs(rows - patch[0].T) < 1e-9, axis=(2, 3))
    return any(np.allclose(image[r:r + s, c:c + s], patch, rtol=0, atol=1e-9) for r, c in np.argwhere(first))


def test_patches_are_windows_of_the_named_photographs(skimage):
    """Independent reader: scikit-image's own loaders (and rgb2gray for grey patches of colour photos)."""
    from skimage import color, data
    colour = [data.astronaut(), data.chelsea(), data.coffee(), data.rocket()]        # labels 0..3
    grey = [255 * color.rgb2gray(im)[..., None] for im in colour] + [None, None] + [   # 4, 5: scikit-learn's
        getattr(data, name)()[..., None] for name in ("camera", "coins", "moon", "brick", "grass", "gravel")]
    ds = D.dataset("patches", size=6, n=12, color=True, pixels="raw", rng=0)
    checked = [_find(p, colour[k]) for p, k in zip(ds.images(), ds.labels) if k < 4]
    ds = D.dataset("patches", size=6, n=30, pixels="raw", rng=1)
    checked += [_find(p, grey[k]) for p, k in zip(ds.images(), ds.labels) if grey[k] is not None]
    assert len(checked) >= 20 and all(checked)


def test_patches_bad_input(skimage):
    with pytest.raises(st.SpectralTheoryError, match="size"):
        D.patches(0, 10)
    with pytest.raises(st.SpectralTheoryError, match="size"):
        D.patches(400, 10)
    with pytest.raises(st.SpectralTheoryError, match="`n`"):
        D.patches(8, 0)
    with pytest.raises(st.SpectralTheoryError, match="pixels"):
        D.patches(8, 10, pixels="bytes")


@pytest.fixture
def mnist1d():
    return pytest.importorskip("mnist1d")


def test_mnist1d_shape_labels_and_global_streams_untouched(mnist1d):
    import random
    np.random.seed(123)
    random.seed(123)
    before = np.random.random(), random.random()
    np.random.seed(123)
    random.seed(123)
    ds = D.dataset("mnist1d", n=205, rng=0)
    assert (np.random.random(), random.random()) == before        # make_dataset's reseeding is undone
    assert ds.data.shape == (205, 40) and ds.image_shape == (1, 40, 1) and ds.data.dtype == np.float64
    assert set(np.unique(ds.labels)) == set(range(10))
    assert abs(ds.data.mean()) < 0.05 and abs(ds.data.std() - 1) < 0.05   # standardised over 210 generated


@pytest.mark.parametrize("name, kwargs", [("patches", dict(size=8, n=200)), ("mnist1d", dict(n=100))])
def test_same_seed_same_data_other_seed_other_data(name, kwargs):
    pytest.importorskip("skimage" if name == "patches" else "mnist1d")
    a = D.dataset(name, rng=7, **kwargs)
    b = D.dataset(name, rng=np.random.default_rng(7), **kwargs)
    c = D.dataset(name, rng=8, **kwargs)
    np.testing.assert_array_equal(a.data, b.data)
    np.testing.assert_array_equal(a.labels, b.labels)
    assert not np.array_equal(a.data, c.data)


def test_nothing_touches_the_network(monkeypatch, skimage, mnist1d, sklearn):
    import socket
    import urllib.request

    def refuse(*args, **kwargs):
        raise AssertionError("network access")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(urllib.request, "urlopen", refuse)
    _bundled._photographs.cache_clear()                            # read the photographs now, offline
    assert D.faces("all").shape == (200, 625)
    assert D.patches(8, 50, rng=0).shape == (50, 64)
    assert D.patches(8, 50, color=True, rng=0).shape == (50, 192)
    assert D.mnist1d(20, rng=0).shape == (20, 40)
    assert D.digits().shape == (1797, 64)


@pytest.mark.parametrize("func, module, args", [("faces", "skimage.data", ()), ("patches", "PIL", (8, 5)),
                                                ("mnist1d", "mnist1d.data", (10,))])
def test_missing_optional_package_names_the_extra(monkeypatch, func, module, args):
    _bundled._photographs.cache_clear()
    for m in (module, module.split(".")[0]):
        monkeypatch.setitem(sys.modules, m, None)                  # import of m raises ImportError
    with pytest.raises(ImportError, match="spectral-theory\\[data\\]"):
        getattr(D, func)(*args)


def test_dataset_record_checks_and_array_protocol():
    ds = D.Dataset(np.zeros((3, 12)), (2, 2, 3), [0, 1, 2], "x", "test", "raw")
    assert len(ds) == 3 and ds.dim == 12 and ds.images().shape == (3, 2, 2, 3)
    assert np.asarray(ds) is ds.data and np.asarray(ds, dtype=np.float32).dtype == np.float32
    with pytest.raises(st.SpectralTheoryError, match="shape"):
        D.Dataset(np.zeros((3, 12)), (2, 2, 2), None, "x", "test", "raw")
    with pytest.raises(st.SpectralTheoryError, match="labels"):
        D.Dataset(np.zeros((3, 12)), (2, 2, 3), [0, 1], "x", "test", "raw")
    with pytest.raises(st.SpectralTheoryError, match="name"):
        D.dataset("cifar")


# ---- load(): files in the original formats --------------------------------------------------------
def _idx_images(images):
    n, h, w = images.shape
    return struct.pack(">IIII", 2051, n, h, w) + images.astype(np.uint8).tobytes()


def _idx_labels(labels):
    return struct.pack(">II", 2049, len(labels)) + np.asarray(labels, np.uint8).tobytes()


@pytest.fixture
def mnist_files(tmp_path):
    rng = np.random.default_rng(0)
    imgs = {"train": rng.integers(0, 256, (7, 28, 28), dtype=np.uint8),
            "t10k": rng.integers(0, 256, (3, 28, 28), dtype=np.uint8)}
    labs = {"train": rng.integers(0, 10, 7), "t10k": rng.integers(0, 10, 3)}
    (tmp_path / "train-images-idx3-ubyte.gz").write_bytes(gzip.compress(_idx_images(imgs["train"])))
    (tmp_path / "train-labels-idx1-ubyte.gz").write_bytes(gzip.compress(_idx_labels(labs["train"])))
    (tmp_path / "t10k-images-idx3-ubyte").write_bytes(_idx_images(imgs["t10k"]))
    (tmp_path / "t10k-labels-idx1-ubyte").write_bytes(_idx_labels(labs["t10k"]))
    return tmp_path, imgs, labs


def test_load_mnist_idx_gz_and_plain(mnist_files):
    folder, imgs, labs = mnist_files
    ds = D.load(folder / "train-images-idx3-ubyte.gz", pixels="raw")
    assert ds.name == "mnist" and ds.image_shape == (28, 28, 1) and ds.data.dtype == np.float64
    np.testing.assert_array_equal(ds.images()[..., 0], imgs["train"])
    np.testing.assert_array_equal(ds.labels, labs["train"])
    ds = D.load(folder / "t10k-images-idx3-ubyte")
    np.testing.assert_allclose(ds.data, 2.0 * imgs["t10k"].reshape(3, -1) / 255.0 - 1.0)
    np.testing.assert_array_equal(ds.labels, labs["t10k"])
    both = D.load(folder, pixels="unit")                                  # train then t10k
    assert both.data.shape == (10, 784) and 0 <= both.data.min() and both.data.max() <= 1
    np.testing.assert_array_equal(both.labels, np.concatenate([labs["train"], labs["t10k"]]))
    alone = _bad(folder / "alone-images", _idx_images(imgs["t10k"]))
    assert D.load(alone).labels is None
    np.testing.assert_array_equal(D.load(alone, labels=labs["t10k"]).labels, labs["t10k"])


def _bad(path, content):
    path.write_bytes(content)
    return path


def test_load_corrupt_mnist_files_name_the_file_and_the_fault(tmp_path, mnist_files):
    folder, imgs, labs = mnist_files
    good = _idx_images(imgs["t10k"])
    cases = {
        "bad magic": (struct.pack(">IIII", 2052, 3, 28, 28) + good[16:], "magic number 2052"),
        "labels as images": (_idx_labels(labs["t10k"]), "magic number 2049 \\(a labels file\\)"),
        "truncated": (good[:-5], "truncated"),
        "trailing": (good + b"\x00", "trailing"),
        "short header": (good[:6], "truncated idx header"),
        "wrong dims": (struct.pack(">IIII", 2051, 3, 28, 27) + good[16:], "header says 3 x 28 x 27"),
        "bad gzip": (gzip.compress(good)[:-12], "gzip"),
    }
    for name, (content, match) in cases.items():
        p = _bad(tmp_path / f"{name.replace(' ', '_')}-images", content)
        with pytest.raises(st.SpectralTheoryError, match=match) as e:
            D.load(p)
        assert str(p) in str(e.value), name
    p = _bad(tmp_path / "few-images-idx3-ubyte", good)
    _bad(tmp_path / "few-labels-idx1-ubyte", _idx_labels(labs["t10k"][:2]))
    with pytest.raises(st.SpectralTheoryError, match="2 labels for the 3 images") as e:
        D.load(p)
    assert "few-labels-idx1-ubyte" in str(e.value) and str(p) in str(e.value)
    with pytest.raises(st.SpectralTheoryError, match="unrecognised format"):
        D.load(_bad(tmp_path / "text.txt", b"hello world"))
    with pytest.raises(st.SpectralTheoryError, match="no such file"):
        D.load(tmp_path / "missing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(st.SpectralTheoryError, match="neither CIFAR"):
        D.load(tmp_path / "empty")


def _cifar_batch(images, labels, key=b"labels"):
    """A batch dict as the CIFAR python version holds it: (m, 3072) uint8 rows in CHW order."""
    rows = images.transpose(0, 3, 1, 2).reshape(len(images), -1)
    return {b"batch_label": b"training batch 1 of 5", key: list(map(int, labels)), b"data": rows,
            b"filenames": [b"img_%d.png" % i for i in range(len(images))]}


@pytest.fixture
def cifar_folder(tmp_path):
    rng = np.random.default_rng(1)
    imgs = [rng.integers(0, 256, (m, 32, 32, 3), dtype=np.uint8) for m in (4, 3, 2)]
    labs = [rng.integers(0, 10, len(i)) for i in imgs]
    for name, im, lb in zip(("data_batch_1", "data_batch_2", "test_batch"), imgs, labs):
        with open(tmp_path / name, "wb") as f:
            pickle.dump(_cifar_batch(im, lb), f, protocol=2)
    (tmp_path / "batches.meta").write_bytes(pickle.dumps({b"label_names": [b"airplane"]}, protocol=2))
    return tmp_path, imgs, labs


def test_load_cifar_batches_file_and_folder(cifar_folder):
    folder, imgs, labs = cifar_folder
    ds = D.load(folder / "data_batch_2", pixels="raw")
    assert ds.name == "cifar10" and ds.image_shape == (32, 32, 3)
    np.testing.assert_array_equal(ds.images(), imgs[1])                  # CHW rows -> HWC images
    np.testing.assert_array_equal(ds.labels, labs[1])
    ds = D.load(folder)
    assert ds.data.shape == (9, 3072) and -1 <= ds.data.min() and ds.data.max() <= 1
    np.testing.assert_allclose(ds.images(), 2.0 * np.concatenate(imgs) / 255.0 - 1)
    np.testing.assert_array_equal(ds.labels, np.concatenate(labs))


def test_load_cifar_numpy1_pickles_and_cifar100(tmp_path):
    rng = np.random.default_rng(2)
    im = rng.integers(0, 256, (2, 32, 32, 3), dtype=np.uint8)
    blob = pickle.dumps(_cifar_batch(im, [3, 4], key=b"fine_labels"), protocol=2)
    assert b"numpy._core.multiarray" in blob
    old = blob.replace(b"numpy._core.multiarray", b"numpy.core.multiarray")   # as numpy 1.x wrote it
    ds = D.load(_bad(tmp_path / "train", old), pixels="raw")
    assert ds.name == "cifar100"
    np.testing.assert_array_equal(ds.images(), im)
    ds5 = D.load(_bad(tmp_path / "p5", pickle.dumps(_cifar_batch(im, [3, 4]), protocol=5)), pixels="raw")
    np.testing.assert_array_equal(ds5.images(), im)


def test_load_corrupt_cifar_batches(tmp_path, cifar_folder):
    folder, imgs, labs = cifar_folder
    good = _cifar_batch(imgs[2], labs[2])
    cases = {
        "count": ({**good, b"labels": [1]}, "1 labels for 2 images"),
        "dims": ({**good, b"data": good[b"data"][:, :1000]}, "3072"),
        "dtype": ({**good, b"data": good[b"data"].astype(np.float32)}, "uint8"),
        "nodata": ({b"labels": [1, 2]}, "no 'data'"),
        "nolabels": ({b"data": good[b"data"]}, "no 'labels'"),
        "list": ([1, 2], "is a dict"),
    }
    for name, (obj, match) in cases.items():
        p = _bad(tmp_path / name, pickle.dumps(obj, protocol=2))
        with pytest.raises(st.SpectralTheoryError, match=match) as e:
            D.load(p)
        assert str(p) in str(e.value), name
    p = _bad(tmp_path / "cut", pickle.dumps(good, protocol=2)[:-100])
    with pytest.raises(st.SpectralTheoryError, match="not a readable CIFAR batch") as e:
        D.load(p)
    assert str(p) in str(e.value)


class _Evil:
    def __init__(self, command):
        self.command = command

    def __reduce__(self):
        return os.system, (self.command,)


def test_a_pickle_that_calls_a_function_is_refused(tmp_path):
    marker = tmp_path / "pwned"
    evil = {b"data": _Evil(f"touch {marker}"), b"labels": [0]}
    p = _bad(tmp_path / "data_batch_1", pickle.dumps(evil, protocol=2))
    with pytest.raises(st.SpectralTheoryError, match="refused .*(posix|os|nt)\\.system") as e:
        D.load(p)
    assert str(p) in str(e.value)
    assert not marker.exists()                                            # nothing ran
    with pytest.raises(st.SpectralTheoryError, match="refused"):           # any protocol, as the top object
        D.load(_bad(tmp_path / "p5", pickle.dumps(_Evil(f"touch {marker}"), protocol=5)))
    assert not marker.exists()
    with pytest.raises(st.SpectralTheoryError, match="refused"):
        D.load(_bad(tmp_path / "eval", b"\x80\x02cbuiltins\neval\nX\x03\x00\x00\x001+1\x85R."))
    rot13 = b"\x80\x02c_codecs\nencode\nX\x01\x00\x00\x00xX\x05\x00\x00\x00rot13\x86R."   # only latin1 runs
    with pytest.raises(st.SpectralTheoryError, match="refused .*rot13"):
        D.load(_bad(tmp_path / "codec", rot13))


def test_load_npy_and_npz_round_trips(tmp_path):
    rng = np.random.default_rng(3)
    u8 = rng.integers(0, 256, (5, 6, 7, 3), dtype=np.uint8)
    np.save(tmp_path / "a.npy", u8)
    ds = D.load(tmp_path / "a.npy", pixels="raw")
    assert ds.name == "array" and ds.image_shape == (6, 7, 3) and ds.labels is None
    np.testing.assert_array_equal(ds.images(), u8)
    f = rng.random((4, 5, 5))
    np.savez(tmp_path / "b.npz", x=f, y=np.arange(4))
    ds = D.load(tmp_path / "b.npz")
    assert ds.image_shape == (5, 5, 1)
    np.testing.assert_allclose(ds.data, 2 * f.reshape(4, -1) - 1)
    np.testing.assert_array_equal(ds.labels, np.arange(4))
    np.savez_compressed(tmp_path / "mnist.npz", x_train=u8[..., 0], y_train=np.arange(5), x_test=u8[:1, ..., 0])
    ds = D.load(tmp_path / "mnist.npz", pixels="unit")                     # the keras layout
    np.testing.assert_allclose(ds.images()[..., 0], u8[..., 0] / 255.0)
    np.save(tmp_path / "flat.npy", rng.random((3, 12)))
    assert D.load(tmp_path / "flat.npy").image_shape == (1, 12, 1)
    assert D.load(tmp_path / "flat.npy", image_shape=(2, 2, 3)).images().shape == (3, 2, 2, 3)
    np.save(tmp_path / "lab.npy", np.array([2, 1, 0]))
    np.testing.assert_array_equal(D.load(tmp_path / "flat.npy", labels=tmp_path / "lab.npy").labels, [2, 1, 0])


def test_load_bad_arrays(tmp_path):
    np.save(tmp_path / "obj.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    np.save(tmp_path / "big.npy", np.full((2, 4), 3.0))
    np.save(tmp_path / "vec.npy", np.zeros(5))
    np.savez(tmp_path / "keys.npz", a=np.zeros((2, 2)), b=np.zeros((2, 2)))
    np.savez(tmp_path / "count.npz", x=np.zeros((3, 4)), y=np.arange(2))
    cases = {"obj.npy": "allow_pickle", "big.npy": "pixels='raw'", "vec.npy": "shape \\(5,\\)",
             "keys.npz": "no data array", "count.npz": "2 labels for the 3 images"}
    for name, match in cases.items():
        with pytest.raises(st.SpectralTheoryError, match=match) as e:
            D.load(tmp_path / name)
        assert name in str(e.value)
    with pytest.raises(st.SpectralTheoryError, match="image_shape"):
        D.load(tmp_path / "big.npy", image_shape=(3, 3, 1), pixels="raw")
    assert D.load(tmp_path / "big.npy", pixels="raw").data.max() == 3.0


def test_a_count_beyond_the_machines_memory_is_refused_before_allocating():
    from conftest import refuses_allocation
    refuses_allocation(lambda: _bundled._patches(8, 2**50, rng=0), "n")
    refuses_allocation(lambda: _bundled._mnist1d(2**50, rng=0), "n")
