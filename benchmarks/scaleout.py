"""Scale-out on this machine: one search worker against two on one study, and a sweep on the
local process pool against the same sweep on a real Dask cluster (``dask scheduler`` and two
``dask worker`` processes on 127.0.0.1, which get each notebook as data and send its run folder
back, as with no shared disk).

(a) Search: the same budget of ``--trials`` trials (random sampler, digits MLP runs of
``--epochs`` epochs) on a fresh SQLite study, by one ``workbench search`` process, then by two
processes of half the trials each, started together. Trials per minute of each.
(b) Sweep: an 8-run grid of notebooks/05_compression_pipeline.ipynb (prune_ratio x quant_bits,
digits, 3 dense epochs then 2 of fine-tuning): ``workbench sweep --workers 2`` against
``--executor dask``.
Arms alternate, ``--repeats`` times; the figures are medians.

    .venv/bin/python benchmarks/scaleout.py [--trials 8] [--epochs 3] [--repeats 2]
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import finish, median, print_table

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
NB = ROOT / "notebooks" / "05_compression_pipeline.ipynb"


def search(tmp: Path, workers: int, trials: int, epochs: int, tag: str) -> float:
    space = tmp / "space.yaml"
    space.write_text("optimizer: [adam, sgd, nesterov]\nprune_ratio: {uniform: [0, 0.9]}\n")
    url = f"sqlite:///{tmp}/{tag}.db"
    cmd = [str(BIN / "workbench"), "search", "--space", str(space), "--sampler", "random",
           "--objective", "test_accuracy:max", "--storage", url, "--study", tag,
           "--runs-dir", str(tmp / tag), "--dataset", "digits", "--epochs", str(epochs),
           "--trials", str(trials // workers)]
    t0 = time.perf_counter()
    procs = [subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
             for _ in range(workers)]
    for p in procs:
        _, err = p.communicate()
        if p.returncode:
            raise SystemExit(err.decode()[-2000:])
    return time.perf_counter() - t0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def dask_cluster() -> tuple[str, list[subprocess.Popen[bytes]]]:
    port = free_port()
    address = f"tcp://127.0.0.1:{port}"
    env = {**os.environ, "DASK_LOGGING__DISTRIBUTED": "error"}
    procs = [subprocess.Popen([str(BIN / "dask"), "scheduler", "--host", "127.0.0.1", "--port",
                               str(port), "--no-dashboard"], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)]
    procs += [subprocess.Popen([str(BIN / "dask"), "worker", address, "--nthreads", "1",
                                "--no-dashboard"], env=env, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL) for _ in range(2)]
    from distributed import Client

    with Client(address, timeout=30) as c:
        c.wait_for_workers(2, timeout=60)
    return address, procs


def sweep(tmp: Path, tag: str, extra: list[str]) -> float:
    t0 = time.perf_counter()
    subprocess.run([str(BIN / "workbench"), "sweep", str(NB), "-o", str(tmp / tag),
                    "--grid", "prune_ratio=0,0.5,0.8,0.9", "--grid", "quant_bits=8,4",
                    "-p", "epochs", "2", "-p", "dense_epochs", "3", "--workers", "2", *extra],
                   check=True, capture_output=True)
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--trials", type=int, default=8)
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--repeats", type=int, default=2)
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="scaleout-bench-"))
    one, two = [], []
    for r in range(args.repeats):
        arms = [(1, one), (2, two)] if r % 2 == 0 else [(2, two), (1, one)]
        for workers, into in arms:
            into.append(search(tmp, workers, args.trials, args.epochs, f"s{workers}-{r}"))
    address, procs = dask_cluster()
    local, dask = [], []
    try:
        for r in range(args.repeats):
            arms = [("local", local, []), ("dask", dask, ["--executor", "dask", "--scheduler",
                                                           address])]
            for tag, into, extra in arms if r % 2 == 0 else arms[::-1]:
                into.append(sweep(tmp, f"{tag}-{r}", extra))
    finally:
        for p in procs:
            p.kill()
    s1, s2, sl, sd = median(one), median(two), median(local), median(dask)
    print_table(f"search: {args.trials} trials on one SQLite study (digits, {args.epochs} "
                "epochs)", [
                    {"arm": "1 worker", "wall s": s1, "trials/min": 60 * args.trials / s1},
                    {"arm": "2 workers", "wall s": s2, "trials/min": 60 * args.trials / s2}])
    print_table("sweep: 8 runs of 05_compression_pipeline (digits, 3 + 2 epochs)", [
        {"arm": "local pool, 2 workers", "wall s": sl},
        {"arm": "Dask, 2 workers (notebook shipped, files returned)", "wall s": sd}])
    finish({"search_trials_per_min_1_worker": 60 * args.trials / s1,
            "search_trials_per_min_2_workers": 60 * args.trials / s2,
            "search_speedup_2_workers": s1 / s2, "sweep_local_s": sl, "sweep_dask_s": sd,
            "sweep_dask_over_local": sd / sl, "repeats": args.repeats,
            "cores": os.cpu_count()})


if __name__ == "__main__":
    main()
