"""The export registry: every artifact kind a run can write, its file name and how it is made.

A leaf module (no config, no TensorFlow at import): the config's ``export`` field reads its
choices here, the run store its file names, and :func:`workbench.compress.export_tflite` the
converter settings of each TFLite kind. Adding a TFLite variant is one entry here, plus its
test.

Example:
    >>> from workbench.exports import EXPORTS, TFLITE_KINDS
    >>> EXPORTS["packed"].file, "tflite_int8" in TFLITE_KINDS
    ('model.wbz', True)
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

#: ``configure(converter, tf, representative_dataset)`` sets a ``TFLiteConverter``'s options;
#: ``representative_dataset`` is a generator function of sample inputs (None unless the kind
#: ``calibrates``).
Configure = Callable[[Any, Any, Any], None]


@dataclass(frozen=True)
class ExportInfo:
    """One artifact kind: its file in a run folder, what it is, and (TFLite) its converter.

    Example:
        >>> from workbench.exports import EXPORTS
        >>> EXPORTS["tflite_int8"].calibrates, EXPORTS["keras"].tflite is None
        (True, True)
    """

    name: str
    file: str
    description: str
    tflite: Configure | None = field(default=None, compare=False)
    calibrates: bool = False  # needs sample inputs (full-integer quantization)


def _float32(converter: Any, tf: Any, representative: Any) -> None:
    pass  # the converter's defaults: float32 weights and activations


def _float16(converter: Any, tf: Any, representative: Any) -> None:
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    converter.target_spec.supported_types = [tf.float16]


def _dynamic(converter: Any, tf: Any, representative: Any) -> None:
    converter.optimizations = [tf.lite.Optimize.DEFAULT]


def _int8(converter: Any, tf: Any, representative: Any) -> None:
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    converter.representative_dataset = representative
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]


#: Every kind ``export`` accepts, in the order help and controls list them.
EXPORTS: dict[str, ExportInfo] = {e.name: e for e in (
    ExportInfo("keras", "model.keras", "the trained Keras model"),
    ExportInfo("tflite_float32", "model_tflite_float32.tflite", "TFLite, float32", _float32),
    ExportInfo("tflite_float16", "model_tflite_float16.tflite", "TFLite, float16 weights",
               _float16),
    ExportInfo("tflite_dynamic", "model_tflite_dynamic.tflite", "TFLite, int8 weights and "
               "float activations", _dynamic),
    ExportInfo("tflite_int8", "model_tflite_int8.tflite", "TFLite, int8 weights and "
               "activations, calibrated on training inputs", _int8, calibrates=True),
    ExportInfo("packed", "model.wbz", "the packed .wbz: sparse, n-bit, entropy-coded"),
)}

#: The kinds made by the TFLite converter.
TFLITE_KINDS: tuple[str, ...] = tuple(n for n, e in EXPORTS.items() if e.tflite is not None)
