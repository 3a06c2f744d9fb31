"""The 8x8 digits shipped with scikit-learn (optional extra `data`)."""
import numpy as np
import pytest

import spectral_theory as st

sklearn = pytest.importorskip("sklearn")


def test_digits_shape_scale_and_labels():
    X, y = st.datasets.digits(return_labels=True)
    assert X.shape == (1797, 64) and X.dtype == np.float64 and y.shape == (1797,)
    assert X.min() == -1.0 and X.max() == 1.0
    raw = st.datasets.digits(scale="raw")
    np.testing.assert_array_equal(np.unique(raw), np.arange(17.0))     # 17 grey levels 0..16
    np.testing.assert_allclose(st.datasets.digits(scale="unit"), raw / 16)
    assert set(np.unique(y)) == set(range(10))


def test_digits_class_selection():
    X, y = st.datasets.digits(classes=[0, 1], return_labels=True)
    assert set(np.unique(y)) == {0, 1} and X.shape[0] == np.sum(np.isin(st.datasets.digits(return_labels=True)[1], [0, 1]))


def test_digits_bad_input():
    with pytest.raises(st.SpectralTheoryError, match="scale"):
        st.datasets.digits(scale="other")
    with pytest.raises(st.SpectralTheoryError, match="classes"):
        st.datasets.digits(classes=[12])


def test_missing_sklearn_gives_a_clear_error(monkeypatch):
    import builtins
    real_import = builtins.__import__

    def fake(name, *args, **kwargs):
        if name.startswith("sklearn"):
            raise ImportError("no sklearn")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", fake)
    with pytest.raises(ImportError, match="spectral-theory\\[data\\]"):
        st.datasets.digits()


def test_sklearn_is_not_imported_by_the_package():
    import subprocess
    import sys
    code = "import sys, spectral_theory; print('sklearn' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
