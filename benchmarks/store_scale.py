"""RunStore.table() over 100, 1,000 and 10,000 synthetic run folders.

Each synthetic run is written through the real RunWriter (config, status, history, metrics,
index line). Prints the time of table() with the index, and without it (every folder read),
side by side. Target: about linear growth, under 2 s at 10,000 runs.

    .venv/bin/python benchmarks/store_scale.py [--sizes 100,1000,10000]
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import finish, median, print_table


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="100,1000,10000")
    args = ap.parse_args()
    import pandas as pd

    import workbench as wb
    from workbench.runs import INDEX

    hist = pd.DataFrame({"epoch": range(1, 11), "loss": [0.5] * 10, "accuracy": [0.9] * 10})
    root = Path(tempfile.mkdtemp(prefix="wb-store-"))
    store = wb.RunStore(root)
    rows, figures, made = [], {}, 0
    try:
        for n in (int(s) for s in args.sizes.split(",")):
            for i in range(made, n):
                w = store.start(wb.ExperimentConfig(seed=i, run_name=f"r{i}"))
                w.write_history(hist)
                m = {"test_accuracy": 0.9, "test_loss": 0.3, "params": 1000 + i}
                w.write_metrics(m)
                w.finish("completed", m)
            made = n
            t_index = median([_time(store.table) for _ in range(3)])
            index = (root / INDEX).read_bytes()
            (root / INDEX).unlink()
            t_scan = _time(store.table)
            (root / INDEX).write_bytes(index)
            assert len(store.table()) == n
            rows.append({"runs": n, "table_s": t_index, "no_index_s": t_scan,
                         "us_per_run": t_index / n * 1e6})
            figures[str(n)] = round(t_index, 4)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    print_table("RunStore.table()", rows)
    sizes = sorted(figures, key=int)
    growth = figures[sizes[-1]] / figures[sizes[0]] / (int(sizes[-1]) / int(sizes[0]))
    print(f"\ngrowth vs linear from {sizes[0]} to {sizes[-1]} runs: {growth:.2f} (1 = linear)")
    finish({"table_s": figures, "no_index_s": {str(r["runs"]): round(r["no_index_s"], 4)
                                               for r in rows}})


def _time(fn) -> float:
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


if __name__ == "__main__":
    main()
