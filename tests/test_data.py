"""Dataset registry and user data (fast tier: numpy/sklearn only)."""

from __future__ import annotations

import os
import random

import numpy as np
import pandas as pd
import pytest

import workbench as wb
from tests.conftest import require_system
from workbench.data import DATASETS, from_arrays, make_2d


@pytest.mark.parametrize("name", ["digits", "mnist_5k", "mnist1d", "moons", "circles",
                                  "spirals"])
def test_offline_loaders(name, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # loaders must not write to the cwd
    info = DATASETS[name]
    ok, where = info.available()
    assert ok, where
    ds = wb.load_dataset(name)
    assert ds.x_train.shape == (info.n_train, *info.input_shape)
    assert ds.x_test.shape == (info.n_test, *info.input_shape)
    assert ds.x_train.dtype == np.float32 and ds.y_train.dtype == np.int32
    assert set(np.unique(ds.y_train)) == set(range(info.num_classes))
    assert len(info.class_names) == info.num_classes
    assert np.isfinite(ds.x_train).all() and np.abs(ds.x_train).max() < 10
    if len(info.input_shape) == 3:  # images are scaled to [0, 1]
        assert ds.x_train.min() >= 0 and ds.x_train.max() <= 1
    assert not ds.x_train.flags.writeable  # the cached arrays cannot be corrupted by a caller
    assert list(tmp_path.iterdir()) == []


def test_mnist_5k_is_shuffled_and_stratified():
    ds = wb.load_dataset("mnist_5k")
    assert len(set(ds.y_train[:50].tolist())) > 5  # the csv is sorted by class
    assert np.bincount(ds.y_test).tolist() == [100] * 10


def test_mnist1d_does_not_touch_global_rng(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))  # force regeneration
    wb.load_dataset.cache_clear()
    random.seed(123)
    np.random.seed(123)
    expected_py, expected_np = random.random(), np.random.rand()
    random.seed(123)
    np.random.seed(123)
    ds = wb.load_dataset("mnist1d")
    assert (random.random(), np.random.rand()) == (expected_py, expected_np)
    assert ds.x_train.shape == (4000, 40)
    assert (tmp_path / "cache" / "nn-workbench" / "mnist1d-v1.npz").is_file()
    wb.load_dataset.cache_clear()


@pytest.mark.system
def test_fashion_mnist_full_split_offline():
    ok, _where = DATASETS["fashion_mnist"].available()
    require_system(ok, "Debian's dataset-fashion-mnist")
    ds = wb.load_dataset("fashion_mnist")
    assert ds.x_train.shape == (60000, 28, 28, 1) and ds.x_test.shape == (10000, 28, 28, 1)
    assert np.bincount(ds.y_test).tolist() == [1000] * 10
    assert ds.x_train.min() >= 0.0 and ds.x_train.max() <= 1.0


def test_fashion_mnist_unavailable_says_how_to_get_it(monkeypatch, tmp_path):
    import workbench.data as data

    monkeypatch.setattr(data.builtin, "FASHION_DEBIAN_DIR", tmp_path / "none")
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    ok, how = DATASETS["fashion_mnist"].available()
    assert not ok and "apt-get install dataset-fashion-mnist" in how


def test_unknown_dataset_name():
    with pytest.raises(wb.ConfigError, match="dataset='fashion' is not one of") as e:
        wb.load_dataset("fashion")
    assert "did you mean 'fashion_mnist'" in str(e.value)


@pytest.mark.parametrize("kind", ["moons", "circles", "spirals"])
def test_2d_sets_are_balanced_and_reproducible(kind):
    x1, y1 = make_2d(kind, n=400, seed=3)
    x2, y2 = make_2d(kind, n=400, seed=3)
    assert np.array_equal(x1, x2) and np.array_equal(y1, y2)
    assert abs(y1.mean() - 0.5) < 0.01 and x1.shape == (400, 2)


def test_user_data_numpy_pandas_and_one_hot():
    x = np.random.default_rng(0).random((30, 4))
    y = np.arange(30) % 3
    ds = from_arrays((pd.DataFrame(x), pd.Series(y), x[:6], np.eye(3)[y[:6]]))
    assert ds.input_shape == (4,) and ds.num_classes == 3
    assert ds.y_test.tolist() == y[:6].tolist()


@pytest.mark.parametrize("data,msg", [
    ("nope", "must be a tuple"),
    ((np.zeros((5, 2)), np.zeros(4), np.zeros((2, 2)), np.zeros(2)), "5 samples but y_train has 4"),
    ((np.zeros((5, 2)), np.zeros(5), np.zeros((2, 3)), np.zeros(2)), "x_test samples"),
    ((np.zeros((5, 2)), np.full(5, 0.5), np.zeros((2, 2)), np.zeros(2)), "class indices"),
    ((np.array([["a", "b"]] * 5), np.zeros(5), np.zeros((2, 2)), np.zeros(2)), "numeric"),
])
def test_bad_user_data(data, msg):
    with pytest.raises(wb.DataError, match=msg):
        from_arrays(data)


def test_registry_lists_without_loading(tmp_path):
    assert set(wb.datasets()) == {"digits", "fashion_mnist", "mnist_5k", "mnist1d", "moons",
                                  "circles", "spirals"}
    assert os.listdir(tmp_path) == []
