"""Readers of the forms people keep their data in: ``.npz``, image folders, CSV / Parquet.

Each reader returns ``(x_train, y_train, x_test, y_test, class_names, conversions)`` with
float32 inputs and int32 labels, or raises :class:`workbench.DataError` naming the
``dataset`` field, the file and what is wrong. Decoded folders and tables are cached on disk
(``~/.cache/nn-workbench/datasets``), keyed by every file's name, size and modification time
and by the options, so a second load reads one uncompressed ``.npz``.

Image folders follow ``keras.utils.image_dataset_from_directory``: one subfolder per class,
classes in alphanumeric order; ``train/`` and ``test/`` subfolders, when both exist, give the
split. An image that cannot be decoded (unreadable, truncated, over :data:`MAX_PIXELS`: a
decompression bomb) makes the load refuse, naming the files: training on silently fewer
samples than the folder holds would make the record lie.
"""

from __future__ import annotations

import hashlib
import os
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from workbench.exceptions import DataError

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff")
MAX_PIXELS = 4096 * 4096
"""The largest image decoded (pixels): a bigger header is refused before any pixel is read."""
CACHE_VERSION = "1"
Read = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, tuple[str, ...], tuple[str, ...]]


def _fail(path: Path | str, why: str) -> DataError:
    return DataError(f"dataset={str(path)!r}: {why}", field="dataset")


def cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "nn-workbench" / "datasets"


def _cached(key_parts: Sequence[Any]) -> tuple[Path, Read | None]:
    key = hashlib.blake2b(repr((CACHE_VERSION, *key_parts)).encode(), digest_size=16)
    path = cache_dir() / f"{key.hexdigest()}.npz"
    if not path.is_file():
        return path, None
    try:
        with np.load(path, allow_pickle=False) as z:
            xtr, xte = z["x_train"], z["x_test"]
            scale = float(z["scale"])
            out = (_to_float(xtr, scale), z["y_train"], _to_float(xte, scale), z["y_test"],
                   tuple(str(c) for c in z["classes"]), tuple(str(c) for c in z["conversions"]))
        return path, out
    except Exception:  # a damaged cache entry is only a slower load
        return path, None


def _to_float(x: np.ndarray, scale: float) -> np.ndarray:
    """float32 values of stored uint8 pixels: ``k / 255`` rounded once, exactly as the
    built-in loaders compute it (a lookup table: fast, and the same bits)."""
    if x.dtype == np.float32:
        return x
    if x.dtype == np.uint8:
        table = (np.arange(256) * scale).astype(np.float32) if scale != 1 / 255 else \
            (np.arange(256) / 255.0).astype(np.float32)
        return table[x]
    return (x * scale).astype(np.float32)


def _store(path: Path, xtr: np.ndarray, ytr: np.ndarray, xte: np.ndarray, yte: np.ndarray,
           classes: Sequence[str], conversions: Sequence[str], scale: float = 1.0) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.stem}.{os.getpid()}.tmp.npz")
        np.savez(tmp, x_train=xtr, y_train=ytr, x_test=xte, y_test=yte, scale=np.float64(scale),
                 classes=np.array(list(classes)), conversions=np.array(list(conversions)))
        os.replace(tmp, path)
    except OSError:
        pass  # a read-only home only costs decoding again next time


# --- .npz ---

def read_npz(path: Path) -> tuple[tuple[np.ndarray, ...], tuple[str, ...]]:
    """The arrays of an ``.npz``: ``x_train, y_train, x_test, y_test`` or ``x, y``."""
    try:
        with np.load(path, allow_pickle=False) as z:
            keys = tuple(z.files)
            if {"x_train", "y_train", "x_test", "y_test"} <= set(keys):
                return tuple(z[k] for k in ("x_train", "y_train", "x_test", "y_test")), keys
            if {"x", "y"} <= set(keys):
                return (z["x"], z["y"]), keys
    except (OSError, ValueError, EOFError) as e:
        raise _fail(path, f"not a readable .npz file ({type(e).__name__}: {e})") from None
    raise _fail(path, "an .npz with arrays x_train, y_train, x_test, y_test (or x, y); it has "
                + (", ".join(repr(k) for k in keys) or "no arrays"))


# --- image folders ---

def _class_dirs(root: Path) -> list[os.DirEntry[str]]:
    with os.scandir(root) as it:
        return sorted((e for e in it if e.is_dir() and not e.name.startswith(".")),
                      key=lambda e: e.name)


def _images(d: str) -> list[tuple[str, int, int]]:
    """``(path, size, mtime_ns)`` of the images under ``d`` (any depth), sorted by path."""
    out = []
    with os.scandir(d) as it:
        for e in it:
            if e.name.startswith("."):
                continue
            if e.is_dir():
                out += _images(e.path)
            elif os.path.splitext(e.name)[1].lower() in IMAGE_SUFFIXES and e.is_file():
                st = e.stat()
                out.append((e.path, st.st_size, st.st_mtime_ns))
    return sorted(out)


Files = list[tuple[str, int, int, str]]  # (path, size, mtime_ns, class)


def folder_layout(root: Path) -> tuple[dict[str, Files], tuple[str, ...]]:
    """``({"train": [(file, size, mtime, class)], "test": [...]}, classes)``; "test" is empty
    when the folder has no ``train/`` + ``test/`` split of its own."""
    subs = {d.name for d in _class_dirs(root)}
    splits = ("train", "test") if {"train", "test"} <= subs else ("",)
    out: dict[str, Files] = {"train": [], "test": []}
    classes: set[str] = set()
    for split in splits:
        for d in _class_dirs(root / split if split else root):
            files = _images(d.path)
            if files:
                classes.add(d.name)
                out[split or "train"].extend((*f, d.name) for f in files)
    names = tuple(sorted(classes))
    if not out["train"] and not out["test"]:
        raise _fail(root, "a folder with one subfolder of images per class (.png, .jpg, ...); "
                    "found no images in its subfolders")
    if len(names) < 2:
        raise _fail(root, f"at least two classes (subfolders with images); found "
                    f"{len(names)}: {', '.join(names) or 'none'}")
    if splits != ("",) and not out["test"]:
        raise _fail(root / "test", "a test/ folder with images in class subfolders")
    return out, names


def _decode(path: str, mode: str) -> np.ndarray:
    from PIL import Image

    with Image.open(path) as im:
        if im.width * im.height > MAX_PIXELS:
            raise ValueError(f"{im.width}x{im.height} pixels is over the limit of {MAX_PIXELS:,}"
                             " (a decompression bomb?)")
        im.load()
        if mode == "auto":
            target = "L" if im.mode in ("1", "L", "LA", "I", "I;16", "F") else "RGB"
        else:
            target = "L" if mode == "grayscale" else "RGB"
        if im.mode != target:
            im = im.convert(target)
        return np.asarray(im, dtype=np.uint8)


def decode_all(paths: Sequence[str], mode: str) -> list[np.ndarray | str]:
    """Each image as uint8 (H, W) or (H, W, 3), or the text of why it cannot be decoded."""
    from PIL import Image

    Image.MAX_IMAGE_PIXELS = MAX_PIXELS  # Pillow's own guard, for the formats it checks
    out: list[np.ndarray | str] = []
    for p in paths:
        try:
            out.append(_decode(p, mode))
        except Exception as e:  # Pillow raises many kinds: each is named, then refused
            out.append(f"{p}: {type(e).__name__}: {str(e)[:120]}")
    return out


PARALLEL_FROM = 2000
"""Folders of at least this many images are decoded by one process per core (Pillow's decoders
hold the GIL for much of their work, so threads do not scale)."""


def _decode_parallel(paths: list[str], mode: str) -> list[np.ndarray | str]:
    workers = min(os.cpu_count() or 1, 8)
    if len(paths) < PARALLEL_FROM or workers < 2:
        return decode_all(paths, mode)
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    size = -(-len(paths) // (workers * 4))
    chunks = [paths[i: i + size] for i in range(0, len(paths), size)]
    # spawn: the caller may hold TensorFlow's threads, which a fork would copy half-made
    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) as pool:
        parts = list(pool.map(decode_all, chunks, [mode] * len(chunks)))
    return [a for part in parts for a in part]


def read_folder(root: Path, image_size: int | None, image_mode: str, test_split: float) -> Read:
    """Decode an image folder to arrays scaled to [0, 1] (cached; see the module)."""
    layout, names = folder_layout(root)
    files = layout["train"] + layout["test"]
    key_path, hit = _cached(("folder", str(root.resolve()), image_size, image_mode,
                             test_split if not layout["test"] else None,
                             [f[:3] for f in files]))
    if hit is not None:
        return hit
    decoded = _decode_parallel([f[0] for f in files], image_mode)
    bad = [d for d in decoded if isinstance(d, str)]
    if bad:
        raise _fail(root, f"{len(bad)} of {len(files)} images cannot be decoded (fix or remove "
                    "them; nothing was trained): " + "; ".join(bad[:5])
                    + (" ..." if len(bad) > 5 else ""))
    arrays = [d for d in decoded if not isinstance(d, str)]
    conversions = []
    rgb = any(a.ndim == 3 for a in arrays)
    if rgb:
        n_gray = sum(a.ndim == 2 for a in arrays)
        if n_gray:
            arrays = [np.repeat(a[..., None], 3, -1) if a.ndim == 2 else a for a in arrays]
            conversions.append(f"{n_gray} grayscale images converted to RGB")
    elif image_mode == "grayscale":
        conversions.append("converted to grayscale")
    sizes = Counter(a.shape[:2] for a in arrays)
    size = (image_size, image_size) if image_size else sizes.most_common(1)[0][0]
    n_resized = sum(n for s, n in sizes.items() if s != size)
    if n_resized:
        arrays = [_resize(a, size) if a.shape[:2] != size else a for a in arrays]
        conversions.append(f"{n_resized} of {len(arrays)} images resized to "
                           f"{size[0]}x{size[1]} (bilinear)")
    x = np.stack(arrays)
    if x.ndim == 3:
        x = x[..., None]
    index = {c: i for i, c in enumerate(names)}
    y = np.array([index[f[3]] for f in files], dtype=np.int32)
    conversions.append("pixels scaled from 0..255 to [0, 1]")
    n_tr = len(layout["train"])
    if layout["test"]:
        xtr, ytr, xte, yte = x[:n_tr], y[:n_tr], x[n_tr:], y[n_tr:]
    else:
        xtr, ytr, xte, yte = split_stratified(x, y, test_split, root)
        conversions.append(f"test set: {len(xte)} images ({test_split:g}, stratified, seed 0)")
    _store(key_path, xtr, ytr, xte, yte, names, conversions, scale=1 / 255)
    return (_to_float(xtr, 1 / 255), ytr, _to_float(xte, 1 / 255), yte, names,
            tuple(conversions))


def _resize(a: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    from PIL import Image

    return np.asarray(Image.fromarray(a).resize((size[1], size[0]), Image.BILINEAR))


def split_stratified(x: np.ndarray, y: np.ndarray, test_split: float, where: Any
                     ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """A fixed (seed 0) stratified train/test split; plain when a class is too small."""
    from sklearn.model_selection import train_test_split

    n_test = max(1, round(len(x) * test_split))
    if n_test >= len(x):
        raise _fail(where, f"more than {len(x)} samples to hold out a test split of "
                    f"{test_split:g}")
    counts = np.bincount(y)
    strat = y if counts[counts > 0].min() >= 2 and n_test >= len(counts) else None
    xtr, xte, ytr, yte = train_test_split(x, y, test_size=n_test, random_state=0,
                                          stratify=strat)
    return xtr, ytr, xte, yte


# --- tables ---

def read_table(path: Path, label_column: str, test_split: float) -> Read:
    """A CSV or Parquet table: numeric feature columns, a label column (numbers or text) and
    an optional ``split`` column of ``train``/``test`` (cached; see the module)."""
    st = path.stat()
    key_path, hit = _cached(("table", str(path.resolve()), st.st_size, st.st_mtime_ns,
                             label_column, test_split))
    if hit is not None:
        return hit
    import pandas as pd

    try:
        df = pd.read_parquet(path) if path.suffix.lower() == ".parquet" else pd.read_csv(path)
    except ImportError as e:
        raise _fail(path, f"a Parquet reader: {e}") from None
    except Exception as e:
        raise _fail(path, f"not a readable table ({type(e).__name__}: "
                    f"{str(e).splitlines()[0][:200]})") from None
    if label_column not in df.columns:
        raise _fail(path, f"a label column {label_column!r} (set label_column): its columns are "
                    + ", ".join(map(str, df.columns[:20])) + (" ..." if len(df.columns) > 20
                                                              else ""))
    split = df.pop("split") if "split" in df.columns and label_column != "split" else None
    labels = df.pop(label_column)
    text = [str(c) for c in df.columns if not pd.api.types.is_numeric_dtype(df[c])
            or pd.api.types.is_bool_dtype(df[c])]
    if text:
        raise _fail(path, f"numeric feature columns; {', '.join(text[:10])} "
                    f"{'holds' if len(text) == 1 else 'hold'} text (drop or encode "
                    f"{'it' if len(text) == 1 else 'them'}, or make it the label_column)")
    if df.shape[1] == 0:
        raise _fail(path, f"at least one numeric feature column besides {label_column!r}")
    x = df.to_numpy(dtype=np.float32)
    y, names, conv = labels_to_classes(labels.to_numpy(), path, label_column)
    conversions = [*conv]
    if split is not None:
        s = split.astype(str).str.lower().to_numpy()
        if not set(np.unique(s)) <= {"train", "test"} or not (s == "test").any():
            raise _fail(path, "a split column of 'train' and 'test' values (some of each)")
        tr = s == "train"
        xtr, ytr, xte, yte = x[tr], y[tr], x[~tr], y[~tr]
        conversions.append("split: the table's split column")
    else:
        xtr, ytr, xte, yte = split_stratified(x, y, test_split, path)
        conversions.append(f"test set: {len(xte)} rows ({test_split:g}, stratified, seed 0)")
    _store(key_path, xtr, ytr, xte, yte, names, conversions)
    return xtr, ytr, xte, yte, names, tuple(conversions)


def labels_to_classes(labels: np.ndarray, where: Any, field: str = "label"
                      ) -> tuple[np.ndarray, tuple[str, ...], list[str]]:
    """Class indices 0..K-1 from labels: integers kept when they are 0..K-1, else the sorted
    distinct values (numbers or text) mapped in order, the mapping kept as class names."""
    import pandas as pd

    if labels.dtype.kind in "fc":
        finite = np.isfinite(labels)
        if not finite.all():
            raise _fail(where, f"{field}: {int((~finite).sum())} labels are NaN or inf")
        frac = labels != np.round(labels)
        if frac.any():
            raise _fail(where, f"{field}: class labels, not fractions ({int(frac.sum())} are "
                        f"not whole numbers, e.g. {labels[frac][0]!r})")
        labels = labels.astype(np.int64)
    if labels.dtype.kind in "iu":
        values = np.unique(labels)
        if values[0] >= 0 and values[-1] == len(values) - 1:
            return labels.astype(np.int32), tuple(str(v) for v in values), []
        index = {v: i for i, v in enumerate(values.tolist())}
        y = np.array([index[v] for v in labels.tolist()], dtype=np.int32)
        return y, tuple(str(v) for v in values), [f"labels {values.tolist()[:10]} mapped to "
                                                  f"0..{len(values) - 1}"]
    if pd.isna(labels).any():
        raise _fail(where, f"{field}: {int(pd.isna(labels).sum())} labels are missing")
    values = sorted({str(v) for v in labels})
    index = {v: i for i, v in enumerate(values)}
    y = np.array([index[str(v)] for v in labels], dtype=np.int32)
    return y, tuple(values), [f"text labels mapped to classes 0..{len(values) - 1} "
                              f"({', '.join(values[:5])}{' ...' if len(values) > 5 else ''})"]
