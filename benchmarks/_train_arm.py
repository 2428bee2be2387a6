"""One arm of benchmarks/train_speed.py, in a process of its own (TF venv or the JAX side venv).

    python _train_arm.py CASE_DIR ARM_JSON   ->  prints one JSON line: {"epoch_s": [...], ...}

Prints each epoch's time and ``first_s``, the time from the call into fit (``wb.run``'s fit)
to the end of the first epoch. CASE_DIR holds ``data.npz`` (x, y) and ``model.keras``
(architecture and initial weights, shared by every arm); ARM_JSON says how to train: ``kind``
is ``wb`` (``wb.run`` with ``jit_compile`` and ``steps_per_execution`` as given) or ``fit``
(plain ``model.fit``, with ``jit`` as ``True``/``False``/``"auto"`` and ``spe``). The JAX arm
runs here too, with ``KERAS_BACKEND=jax`` set by the caller: that venv has no TensorFlow and
no workbench.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path


def main() -> None:
    case, arm = Path(sys.argv[1]), json.loads(sys.argv[2])
    meta = json.loads((case / "case.json").read_text())
    if os.environ.get("KERAS_BACKEND") == "jax":
        import keras
    else:
        from workbench._tf import keras
    import numpy as np

    data = np.load(case / "data.npz")
    x, y = data["x"], data["y"]
    keras.utils.set_random_seed(0)
    model = keras.models.load_model(case / "model.keras", compile=False)
    times: list[float] = []

    class Timer(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            self.t = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            times.append(time.perf_counter() - self.t)

    if arm["kind"] == "wb":
        import workbench as wb

        cfg = wb.ExperimentConfig(
            optimizer="adam", learning_rate=1e-3, batch_size=meta["batch"],
            epochs=meta["epochs"], validation_split=0.0, jit_compile=arm["jit"],
            steps_per_execution=arm["spe"], export=())
        r = wb.run(cfg, data=(x, y, x[:256], y[:256]), model=model, store=False,
                   verbose=False)
        times = [e["epoch_time_s"] for e in r.events if e["type"] == "epoch"]
        wall = r.metrics["train_time_s"]
        settings = {"jit": r.metrics["jit_compile"], "spe": r.metrics["steps_per_execution"]}
        final_loss = float(r.history["loss"].iloc[-1])
    else:
        if arm.get("deterministic"):
            from workbench._tf import tf

            tf.config.experimental.enable_op_determinism()
        model.compile(optimizer=keras.optimizers.Adam(1e-3),
                      loss=keras.losses.SparseCategoricalCrossentropy(
                          from_logits=meta["logits"]),
                      metrics=["accuracy"], jit_compile=arm["jit"],
                      steps_per_execution=arm["spe"])
        if arm["jit"] is True and not model.jit_compile:
            model._jit_compile = True  # Keras refuses XLA under op determinism; wb.run does not
        t0 = time.perf_counter()
        hist = model.fit(x, y, batch_size=meta["batch"], epochs=meta["epochs"], verbose=0,
                         shuffle=True, callbacks=[Timer()])
        wall = time.perf_counter() - t0
        settings = {"jit": bool(model.jit_compile), "spe": arm["spe"]}
        final_loss = float(hist.history["loss"][-1])
    # from the call into fit to the end of the first epoch: set-up, tracing and compiling
    first = wall - sum(times[1:])
    print(json.dumps({"epoch_s": times, "first_s": first, "settings": settings,
                      "loss": final_loss}))


if __name__ == "__main__":
    main()
