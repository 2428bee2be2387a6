"""TFLite export (``TFLiteConverter``) and evaluation with the LiteRT interpreter."""

from __future__ import annotations

import contextlib
import io
import os
import sys
import time
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from workbench._io import atomic_write_bytes
from workbench.exceptions import ArtifactError, ConfigError
from workbench.exports import EXPORTS, TFLITE_KINDS


def export_tflite(model: Any, path: str | Path | None = None, kind: str = "tflite_dynamic", *,
                  representative_data: np.ndarray | None = None,
                  calibration_samples: int = 200) -> bytes:
    """Convert a Keras model to TFLite and return the flatbuffer (also written to ``path``).

    ``kind``: ``tflite_float32``, ``tflite_float16`` (float16 weights), ``tflite_dynamic``
    (int8 weights, float activations) or ``tflite_int8`` (int8 weights *and* activations,
    calibrated on ``representative_data``, e.g. a sample of the training inputs).

    Example:
        >>> import keras, workbench.compress as C
        >>> m = keras.Sequential([keras.Input((8,)), keras.layers.Dense(4)])
        >>> len(C.export_tflite(m, kind="tflite_float32")) > 0    # doctest: +SKIP
        True
    """
    if kind not in TFLITE_KINDS:
        raise ConfigError("export", kind, "one of: " + ", ".join(TFLITE_KINDS))
    info = EXPORTS[kind]
    if info.calibrates and (representative_data is None or len(representative_data) == 0):
        raise ConfigError("representative_data", None, f"a non-empty array of sample inputs for "
                          f"{kind} (full-integer quantization calibrates activations on it)")
    from workbench._tf import tf
    from workbench.compress.layers import is_twin
    from workbench.compress.wrap import strip

    if any(is_twin(layer) for layer in model.layers):
        model = strip(model)
    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    sample = (np.asarray(representative_data[:calibration_samples], dtype=np.float32)
              if info.calibrates else None)

    def representative() -> Any:
        for row in sample if sample is not None else ():
            yield [row[None, ...]]

    info.tflite(converter, tf, representative if info.calibrates else None)
    try:
        with _quiet():
            flat = converter.convert()
    except Exception as e:
        raise ArtifactError(f"TFLite conversion ({kind}) failed: {type(e).__name__}: "
                            f"{str(e).splitlines()[0] if str(e) else ''}") from None
    if path is not None:
        atomic_write_bytes(Path(path), flat)
    return flat


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """Silence the converter: its Python prints, its warnings and its C++ logs on fd 1/2."""
    sys.stdout.flush()
    sys.stderr.flush()
    saved = [os.dup(1), os.dup(2)]
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 1)
        os.dup2(devnull, 2)
        with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        os.dup2(saved[0], 1)
        os.dup2(saved[1], 2)
        for fd in (*saved, devnull):
            os.close(fd)


def _interpreter(content: bytes) -> Any:
    from ai_edge_litert.interpreter import Interpreter

    return Interpreter(model_content=content, num_threads=min(2, os.cpu_count() or 1))


def evaluate_tflite(content: bytes | str | Path, x: np.ndarray, y: np.ndarray, *,
                    batch_size: int = 256, latency_samples: int = 50) -> dict[str, float]:
    """Accuracy of a TFLite model on ``(x, y)`` and its median single-sample latency (ms).

    Runs in the LiteRT interpreter (``ai-edge-litert``), quantizing inputs when the model
    takes integers.
    """
    if isinstance(content, str | Path):
        content = Path(content).read_bytes()
    with _quiet():  # LiteRT logs "Created TensorFlow Lite XNNPACK delegate" on stderr
        return _evaluate(content, x, y, batch_size, latency_samples)


def _evaluate(content: bytes, x: np.ndarray, y: np.ndarray, batch_size: int,
              latency_samples: int) -> dict[str, float]:
    interp = _interpreter(content)
    inp = interp.get_input_details()[0]
    out = interp.get_output_details()[0]

    def to_input(xb: np.ndarray) -> np.ndarray:
        if inp["dtype"] in (np.int8, np.uint8):
            scale, zero = inp["quantization"]
            info = np.iinfo(inp["dtype"])
            return np.clip(np.round(xb / scale + zero), info.min, info.max).astype(inp["dtype"])
        return xb.astype(inp["dtype"])

    correct = 0
    x = np.asarray(x, dtype=np.float32)
    for start in range(0, len(x), batch_size):
        xb = x[start: start + batch_size]
        interp.resize_tensor_input(inp["index"], xb.shape)
        interp.allocate_tensors()
        interp.set_tensor(inp["index"], to_input(xb))
        interp.invoke()
        logits = interp.get_tensor(out["index"])
        correct += int((logits.argmax(axis=-1) == y[start: start + batch_size]).sum())
    interp.resize_tensor_input(inp["index"], (1, *x.shape[1:]))
    interp.allocate_tensors()
    times = []
    for i in range(min(latency_samples, len(x))):
        interp.set_tensor(inp["index"], to_input(x[i: i + 1]))
        t0 = time.perf_counter()
        interp.invoke()
        times.append(time.perf_counter() - t0)
    return {"accuracy": correct / len(x), "latency_ms": float(np.median(times) * 1000)}

