"""Compression for Keras 3 models: pruning, n-bit quantization (Conv too), weight sharing,
distillation, TFLite export and a packed ``.wbz`` artifact.

Every function takes and returns plain Keras models, so each step can be used alone; ``wb.run``
chains them from the config in Deep Compression's order (prune -> quantize or cluster -> pack).
Importing this module imports TensorFlow.

Example:
    >>> import keras, workbench.compress as C
    >>> m = keras.Sequential([keras.Input((16,)), keras.layers.Dense(32, name="d")])
    >>> small = C.quantize(C.prune(m, 0.5, scope="layer"), 4)
    >>> r = C.size_report(small)
    >>> bool(r.loc["total", "sparsity"] >= 0.5), int(r.loc["d", "distinct_values"]) <= 16
    (True, True)
"""

from workbench.compress.clustering import cluster
from workbench.compress.distill import distill, load_teacher, make_distiller
from workbench.compress.export import evaluate_tflite, export_tflite
from workbench.compress.pack import FORMAT_VERSION, pack, stage_sizes, unpack
from workbench.compress.planning import LayerPlan, Settings, layer_plan
from workbench.compress.pruning import polynomial_sparsity, prune, unstructured_masks
from workbench.compress.pruning_scheduler import PruningScheduler
from workbench.compress.quantization import layer_bits, quantize
from workbench.compress.recipes import FINE_TUNE, fine_tune_config
from workbench.compress.shrink import shrink
from workbench.compress.sizes import plan, size_report, telemetry
from workbench.compress.whatif import WhatIf, sensitivity, suggest_layer_ratios
from workbench.compress.wrap import strip, wrap

__all__ = ["FINE_TUNE", "FORMAT_VERSION", "LayerPlan", "PruningScheduler", "Settings",
           "cluster", "distill", "evaluate_tflite", "export_tflite", "fine_tune_config",
           "layer_bits", "layer_plan", "load_teacher", "make_distiller", "pack", "plan",
           "polynomial_sparsity", "prune", "quantize", "shrink", "size_report", "stage_sizes",
           "strip", "telemetry", "unpack", "unstructured_masks", "WhatIf", "sensitivity",
           "suggest_layer_ratios", "wrap"]
