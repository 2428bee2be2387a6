"""Training throughput: wb.run against plain Keras settings and Keras on JAX, side by side.

For each case (model x data set), every arm trains the same saved model (same architecture and
initial weights, Adam 1e-3, batch 128, no validation) in a process of its own; the arms run
interleaved, round after round, so each round's arms share the machine's moment. An arm's
figure is the median epoch time after its first epoch (``first_s``, from the call into fit to
the end of the first epoch, holds the set-up, tracing and XLA compilation: what a short run
feels most); a ratio is the median over rounds of the two arms' ratio in the same round
(paired).

This machine (a VM) stalls a process now and then: an epoch takes 2-3x as long with the CPU
half idle (``cpu/wall`` about 0.5 instead of 1.6), in any arm, TensorFlow or JAX. So each arm
also reports ``best_s``, its fastest timed epoch over all rounds, and each ratio has a ``best``
twin (the ratio of the two arms' ``best_s``): noise only ever adds time, so the minimum is
the estimate of an arm's own speed that stalls do not move (what ``timeit`` advises).

Arms:
- ``wb.run before``: ``wb.run`` with the settings it had (``jit_compile="off"``,
  ``steps_per_execution=1``), on its present loop (``fit_arrays``); the loop it had, Keras's
  own ``fit`` at these settings, is the ``keras default`` arm, and ``wb_vs_keras_default``
  is the paired ratio against it;
- ``wb.run``: ``wb.run`` with its defaults as a full-length run resolves them (``auto``: XLA
  for models without convolutions in runs of 500k samples or more, which these few-epoch arms
  are not, so the dense cases set ``jit_compile="on"``; about 2048 samples per call);
- ``keras default``: plain ``model.fit`` with Keras's defaults (on CPU: no XLA, one step);
- ``fit xla=X spe=N``: plain ``model.fit`` with each candidate setting; ``deterministic``:
  with ``tf.config.experimental.enable_op_determinism()``, as ``wb.run`` has it;
- ``jax`` / ``jax spe=16``: Keras on JAX (jit), from the side venv ``make bench-extra`` makes
  (``.venv-jax``: keras + jax[cpu], no TensorFlow). Skipped, and said so, without it.

Also the machine's float32 matmul peak (numpy/OpenBLAS and TensorFlow, 2048^3 GEMM), and each
arm's achieved GFLOP/s (forward + backward taken as 3x the forward FLOPs of the Dense and Conv
layers), to read the figures against the floor.

Targets: LeNet-300-100 ``wb.run`` / best JAX arm <= 1.15; LeNet-5 and small_cnn ``wb.run`` /
``wb.run before`` and / ``keras default`` <= 1.0; ``wb.run`` / best plain TF ``fit`` arm <= 1.05.

    .venv/bin/python benchmarks/train_speed.py [--rounds 3] [--cases lenet300_100,lenet5]

The last line is JSON with every figure.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import finish, print_table

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
JAX_PY = ROOT / ".venv-jax" / "bin" / "python"
BATCH = 128
# (case name, model, data set, epochs per arm: the first is not timed)
CASES = [("logistic", "logistic", "fashion_mnist", 6),
         ("mlp", "mlp", "fashion_mnist", 6),
         ("lenet300_100", "lenet300_100", "fashion_mnist", 6),
         ("lenet5", "lenet5", "fashion_mnist", 3),
         ("small_cnn", "small_cnn", "fashion_mnist", 3),
         ("lenet5 digits", "lenet5", "digits", 25),
         ("small_cnn digits", "small_cnn", "digits", 25)]
BEFORE = {"name": "wb.run before", "kind": "wb", "jit": "off", "spe": 1}
WB = {"name": "wb.run", "kind": "wb", "jit": "auto", "spe": 0}
# A benchmark arm trains a few epochs, below XLA_MIN_SAMPLES; a real run (LeNet-300-100 for
# 20 epochs: 1.2M samples) gets XLA from auto when it has no convolution: so does this arm.
WB_LONG = {**WB, "jit": "on"}


def arms(conv: bool) -> list[dict]:
    fit = [{"name": "keras default", "kind": "fit", "jit": "auto", "spe": 1},
           {"name": "fit xla=off spe=16", "kind": "fit", "jit": False, "spe": 16}]
    if conv:  # XLA makes convolutions ~2x slower here (FACTS.md); one XLA arm shows it
        fit += [{"name": "fit xla=on spe=16", "kind": "fit", "jit": True, "spe": 16}]
    else:
        fit += [{"name": f"fit xla=on spe={n}", "kind": "fit", "jit": True, "spe": n}
                for n in (1, 16, 64)]
    # what wb.run's bit-identical histories cost: TensorFlow's op determinism switched on
    fit.append({"name": f"fit xla={'off' if conv else 'on'} spe=16 deterministic",
                "kind": "fit", "jit": not conv, "spe": 16, "deterministic": True})
    jax = [{"name": "jax", "kind": "fit", "jit": "auto", "spe": 1, "jax": True}]
    if not conv:
        jax.append({"name": "jax spe=16", "kind": "fit", "jit": "auto", "spe": 16,
                    "jax": True})
    return [BEFORE, WB if conv else WB_LONG, *fit, *(jax if JAX_PY.exists() else [])]


def forward_flops(model) -> int:
    """Multiply-adds x 2 of the Dense and Conv layers, per sample."""
    total = 0
    for layer in model.layers:
        kernel = getattr(layer, "kernel", None)
        if kernel is None:
            continue
        positions = math.prod(layer.output.shape[1:-1])  # a conv's output positions; 1
        total += 2 * int(math.prod(kernel.shape)) * int(positions)
    return total


def matmul_peak() -> dict[str, float]:
    import numpy as np

    from workbench._tf import tf

    n = 2048
    a = np.random.default_rng(0).random((n, n), dtype=np.float32)
    ta = tf.constant(a)
    out = {}
    for name, mm in (("numpy", lambda: a @ a),
                     ("tensorflow", lambda: tf.linalg.matmul(ta, ta).numpy())):
        mm()
        best = min(_timed(mm) for _ in range(5))
        out[name] = 2 * n ** 3 / best / 1e9
    return out


def _timed(fn) -> float:
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def prepare(tmp: Path, name: str, model: str, dataset: str, epochs: int) -> dict:
    import numpy as np

    import workbench as wb
    from workbench.architectures import build_model, outputs_probabilities
    from workbench.training.execution import has_convolutions
    from workbench.training.experiment import seed_everything

    ds = wb.load_dataset(dataset)
    seed_everything(0)
    net = build_model(model, ds.input_shape, ds.num_classes)
    case = tmp / name.replace(" ", "_")
    case.mkdir()
    np.savez(case / "data.npz", x=ds.x_train, y=ds.y_train)
    net.save(case / "model.keras")
    meta = {"batch": BATCH, "epochs": epochs, "logits": not outputs_probabilities(net),
            "n": len(ds.x_train), "flops": forward_flops(net),
            "conv": has_convolutions(net)}
    (case / "case.json").write_text(json.dumps(meta))
    return {"dir": case, **meta}


def run_arm(case: dict, arm: dict) -> dict:
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    py = sys.executable
    if arm.get("jax"):
        env["KERAS_BACKEND"] = "jax"
        py = str(JAX_PY)
    p = subprocess.run([py, str(HERE / "_train_arm.py"), str(case["dir"]), json.dumps(arm)],
                       capture_output=True, text=True, env=env, timeout=3600)
    if p.returncode != 0:
        raise SystemExit(f"arm {arm['name']} failed:\n{p.stderr[-3000:]}")
    out = json.loads(p.stdout.strip().splitlines()[-1])
    timed = out["epoch_s"][1:] or out["epoch_s"]
    return {"epoch_s": statistics.median(timed), "best_s": min(timed),
            "first_s": out["first_s"],
            "settings": out["settings"], "loss": out["loss"]}


def paired(rounds: list[dict], a: str, b: str) -> float:
    return statistics.median(r[a]["epoch_s"] / r[b]["epoch_s"] for r in rounds)


def best(rounds: list[dict], arm: str) -> float:
    return min(r[arm]["best_s"] for r in rounds)


def best_ratio(rounds: list[dict], a: str, b: str) -> float:
    return best(rounds, a) / best(rounds, b)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--cases", default=",".join(c[0] for c in CASES),
                    help="comma-separated case names (see CASES)")
    ap.add_argument("--arms", default=None, help="comma-separated arm names to run (default "
                    "all; 'wb.run before' and 'wb.run' always run)")
    args = ap.parse_args()
    chosen = [c for c in CASES if c[0] in args.cases.split(",")]
    wanted = set(args.arms.split(",")) | {BEFORE["name"], WB["name"]} if args.arms else None

    def arms_of(conv: bool) -> list[dict]:
        return [a for a in arms(conv) if wanted is None or a["name"] in wanted]

    peak = matmul_peak()
    print_table("float32 GEMM 2048^3 (GFLOP/s)", [peak])
    if not JAX_PY.exists():
        print("\n(no .venv-jax: the JAX arms are skipped; `make bench-extra` makes it)")
    figures: dict = {"matmul_gflops": peak, "cases": {}}
    with tempfile.TemporaryDirectory() as tmp:
        cases = [prepare(Path(tmp), *c) for c in chosen]
        results: dict[str, list[dict]] = {c[0]: [] for c in chosen}
        for _ in range(args.rounds):
            for (name, *_rest), case in zip(chosen, cases, strict=True):
                results[name].append({arm["name"]: run_arm(case, arm)
                                      for arm in arms_of(case["conv"])})
        for (name, *_rest), case in zip(chosen, cases, strict=True):
            rounds = results[name]
            names = list(rounds[0])
            gflop_per_epoch = 3 * case["flops"] * case["n"] / 1e9
            rows = []
            for arm in names:
                t = statistics.median(r[arm]["epoch_s"] for r in rounds)
                s = rounds[0][arm]["settings"]
                rows.append({"arm": arm, "xla": s["jit"], "spe": s["spe"], "epoch_s": t,
                             "best_s": best(rounds, arm),
                             "first_s": statistics.median(r[arm]["first_s"] for r in rounds),
                             "GFLOP/s": gflop_per_epoch / t,
                             "best GFLOP/s": gflop_per_epoch / best(rounds, arm),
                             "vs before": paired(rounds, arm, "wb.run before"),
                             "best vs before": best_ratio(rounds, arm, "wb.run before"),
                             "loss": statistics.fmean(r[arm]["loss"] for r in rounds)})
            print_table(f"{name}: {case['n']} samples, {gflop_per_epoch:.1f} GFLOP an epoch, "
                        f"{args.rounds} rounds (epoch s: median; ratios: paired)", rows)
            tf_fits = [a for a in names if a.startswith(("keras", "fit"))]
            best_fit = min(tf_fits, key=lambda a: statistics.median(
                r[a]["epoch_s"] for r in rounds))
            fastest_fit = min(tf_fits, key=lambda a: best(rounds, a))
            fig = {"arms": rows, "wb_vs_before": paired(rounds, "wb.run", "wb.run before"),
                   "best_wb_vs_before": best_ratio(rounds, "wb.run", "wb.run before"),
                   "best_tf_fit": best_fit,
                   "wb_vs_best_tf_fit": paired(rounds, "wb.run", best_fit),

                   "best_wb_vs_best_tf_fit": best_ratio(rounds, "wb.run", fastest_fit)}
            if "keras default" in names:  # the loop wb.run had: Keras's fit, its defaults
                fig.update(wb_vs_keras_default=paired(rounds, "wb.run", "keras default"),
                           best_wb_vs_keras_default=best_ratio(rounds, "wb.run",
                                                               "keras default"))
            jax_arms = [a for a in names if a.startswith("jax")]
            if jax_arms:
                best_jax = min(jax_arms, key=lambda a: statistics.median(
                    r[a]["epoch_s"] for r in rounds))
                fastest_jax = min(jax_arms, key=lambda a: best(rounds, a))
                fig.update(best_jax=best_jax, wb_vs_best_jax=paired(rounds, "wb.run", best_jax),
                           best_wb_vs_best_jax=best_ratio(rounds, "wb.run", fastest_jax))
            print("  " + ", ".join(f"{k} {v:.3f}" if isinstance(v, float) else f"{k} {v}"
                                   for k, v in fig.items() if k != "arms"))
            figures["cases"][name] = fig
    finish(figures)


if __name__ == "__main__":
    main()
