"""Loading a folder of images: the workbench's loader, first and cached, against Keras's.

Fashion-MNIST written out as 70,000 PNGs (``train/`` and ``test/``, one subfolder per class;
``wb.data.writers.to_folder``), then three arms, each in a fresh process, rounds alternating
their order so that none always reads a warmer page cache:

- ``workbench first``: ``wb.load_dataset(folder)`` with an empty cache (decode every PNG);
- ``workbench cached``: the same call with the cache the first load wrote (a new process);
- ``keras``: ``keras.utils.image_dataset_from_directory`` on ``train/`` and ``test/``
  (grayscale, 28x28, unshuffled), read to numpy arrays scaled to [0, 1], as the workbench gives.

Each arm's time is from the call to the arrays in memory (imports excluded). The arrays are
checked to be equal across the arms. Goals: first load no slower than Keras's, a cached load
under 1 s.

    .venv/bin/python benchmarks/data_load.py [--rounds 3] [--folder DIR] [--dataset fashion_mnist]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import finish, median, print_table

CHILD = r"""
import json, os, sys, time
arm, folder = sys.argv[1], sys.argv[2]
import numpy as np
if arm == "keras":
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    from workbench._tf import keras
    t = time.perf_counter()
    out = []
    for split in ("train", "test"):
        ds = keras.utils.image_dataset_from_directory(
            os.path.join(folder, split), color_mode="grayscale", image_size=(28, 28),
            batch_size=2048, shuffle=False, verbose=False)
        xs, ys = [], []
        for x, y in ds:
            xs.append(x.numpy() / np.float32(255)); ys.append(y.numpy())
        out += [np.concatenate(xs), np.concatenate(ys)]
    seconds = time.perf_counter() - t
    x_train, y_train = out[0], out[1]
else:
    import workbench as wb
    t = time.perf_counter()
    d = wb.load_dataset(folder)
    seconds = time.perf_counter() - t
    x_train, y_train = d.x_train, d.y_train
print(json.dumps({"seconds": seconds, "n": int(len(x_train)),
                  "checksum": float(np.asarray(x_train, dtype=np.float64).sum()),
                  "labels": int(np.asarray(y_train).sum())}))
"""


def run_arm(arm: str, folder: Path, cache: Path) -> dict:
    env = {**os.environ, "XDG_CACHE_HOME": str(cache), "TF_CPP_MIN_LOG_LEVEL": "3"}
    out = subprocess.run([sys.executable, "-c", CHILD, arm, str(folder)], env=env,
                         capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--dataset", default="fashion_mnist")
    ap.add_argument("--folder", default=None, help="reuse (or write) the PNG folder here")
    a = ap.parse_args()

    import workbench as wb
    from workbench.data.writers import to_folder

    tmp = Path(tempfile.mkdtemp(prefix="wb-data-load-"))
    folder = Path(a.folder) if a.folder else tmp / "png"
    write_s = None
    if not (folder / "test").is_dir():
        t = time.perf_counter()
        to_folder(wb.load_dataset(a.dataset), folder)
        write_s = time.perf_counter() - t
    n_files = sum(1 for _ in folder.rglob("*.png"))
    print(f"{a.dataset}: {n_files} PNGs in {folder}"
          + (f" (written in {write_s:.1f} s)" if write_s else ""))
    times: dict[str, list[float]] = {"workbench first": [], "workbench cached": [], "keras": []}
    checks = {}
    for r in range(a.rounds):
        cold = tmp / f"cache-cold-{r}"
        warm = tmp / f"cache-warm-{r}"
        order = ["workbench first", "keras"] if r % 2 == 0 else ["keras", "workbench first"]
        for arm in order:
            res = run_arm("keras" if arm == "keras" else "wb", folder,
                          cold if arm != "keras" else tmp / "unused")
            times[arm].append(res["seconds"])
            checks[arm] = (res["n"], round(res["checksum"], 1), res["labels"])
        shutil.copytree(cold, warm)  # the cache the first load wrote, read by a new process
        res = run_arm("wb", folder, warm)
        times["workbench cached"].append(res["seconds"])
        checks["workbench cached"] = (res["n"], round(res["checksum"], 1), res["labels"])
    same = len(set(checks.values())) == 1
    rows = [{"arm": arm, "median_s": median(ts), "best_s": min(ts),
             "vs_keras": median(ts) / median(times["keras"])} for arm, ts in times.items()]
    print_table(f"Loading {n_files} PNGs to arrays, {a.rounds} rounds, a fresh process each "
                f"(arrays equal across arms: {same})", rows)
    first, cached = median(times["workbench first"]), median(times["workbench cached"])
    print(f"\nfirst load / keras: {first / median(times['keras']):.2f} (goal <= 1); cached "
          f"load {cached:.2f} s (goal < 1 s)")
    shutil.rmtree(tmp, ignore_errors=True)  # the caches (and the folder, unless --folder)
    finish({"benchmark": "data_load", "files": n_files, "arrays_equal": same,
            "first_s": first, "cached_s": cached, "keras_s": median(times["keras"]),
            "first_vs_keras": first / median(times["keras"])})


if __name__ == "__main__":
    main()
