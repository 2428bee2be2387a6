"""Sweep throughput: a plain serial loop of the papermill CLI against `workbench sweep`.

An 8-run grid of small digits runs of notebooks/05_compression_pipeline.ipynb (prune_ratio x
quant_bits, 3 dense epochs then 2 of fine-tuning): (a) eight `papermill` CLI calls one after
another against one `workbench sweep --workers 2` (target: ratio <= 0.6); (b) per notebook, the
fixed overhead (kernel start, imports, papermill, HTML export: the wall time minus the
training cells' own time, from papermill's per-cell durations) against the training cells'
compute (target: overhead <= 6 s per notebook). Arms run one after the other in one process.

    .venv/bin/python benchmarks/sweep_throughput.py [--epochs 2]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import finish, median, print_table

ROOT = Path(__file__).resolve().parent.parent
NB = ROOT / "notebooks" / "05_compression_pipeline.ipynb"
BIN = Path(sys.executable).parent


def training_seconds(executed: Path) -> float:
    nb = json.loads(executed.read_text())
    return sum(c["metadata"].get("papermill", {}).get("duration") or 0.0
               for c in nb["cells"] if c["cell_type"] == "code"
               and "wb.run(" in "".join(c["source"]))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--epochs", type=int, default=2)
    args = ap.parse_args()
    grid = [(p, b) for p in (0.0, 0.5, 0.8, 0.9) for b in (8, 4)]
    tmp = Path(tempfile.mkdtemp(prefix="sweep-bench-"))

    t0 = time.perf_counter()
    per_nb = []
    for i, (p, b) in enumerate(grid):
        out = tmp / "serial" / f"{i}.ipynb"
        out.parent.mkdir(parents=True, exist_ok=True)
        t = time.perf_counter()
        subprocess.run([str(BIN / "papermill"), str(NB), str(out), "-p", "epochs",
                        str(args.epochs), "-p", "dense_epochs", "3", "-p", "prune_ratio", str(p),
                        "-p", "quant_bits", str(b), "-p", "output_dir", str(tmp / "serial"),
                        "--cwd", str(tmp / "serial"), "--no-progress-bar"],
                       check=True, capture_output=True)
        wall = time.perf_counter() - t
        per_nb.append({"wall": wall, "train": training_seconds(out)})
    serial = time.perf_counter() - t0

    t0 = time.perf_counter()
    subprocess.run([str(BIN / "workbench"), "sweep", str(NB), "-o", str(tmp / "sweep"),
                    "--grid", "prune_ratio=0,0.5,0.8,0.9", "--grid", "quant_bits=8,4",
                    "-p", "epochs", str(args.epochs), "-p", "dense_epochs", "3",
                    "--workers", "2"], check=True, capture_output=True)
    swept = time.perf_counter() - t0
    sweep_nb = []
    for d in (tmp / "sweep").iterdir():
        if (d / "notebook.ipynb").exists():
            status = json.loads((d / "status.json").read_text())
            sweep_nb.append({"wall": status["seconds"], "train": training_seconds(
                d / "notebook.ipynb")})

    overhead_serial = median([r["wall"] - r["train"] for r in per_nb])
    overhead_sweep = median([r["wall"] - r["train"] for r in sweep_nb])
    train = median([r["train"] for r in per_nb])
    print_table("8 notebooks (05_compression_pipeline, digits, "
                f"{args.epochs} epochs)", [
                    {"arm": "papermill CLI, serial", "total s": serial,
                     "median overhead s/nb": overhead_serial, "median training s/nb": train},
                    {"arm": "workbench sweep --workers 2", "total s": swept,
                     "median overhead s/nb": overhead_sweep,
                     "median training s/nb": median([r["train"] for r in sweep_nb])}])
    finish({"serial_s": serial, "sweep_s": swept, "ratio": swept / serial,
            "overhead_per_notebook_s": overhead_sweep,
            "overhead_per_notebook_serial_cli_s": overhead_serial,
            "training_per_notebook_s": train})


if __name__ == "__main__":
    main()
