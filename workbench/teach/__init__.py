"""Teaching demos: optimizers on 2-D surfaces, loss landscapes, a Playground, compression
made visible. The notebooks ``10_gradient_descent`` … ``13_compression_explained`` use these.

Every number is computed by the real machinery: Keras optimizers step the 2-D paths, the
landscape is the model's own loss, and compression is ``workbench.compress``.

Example:
    >>> from workbench import teach
    >>> sorted(teach.SURFACES)
    ['bowl', 'himmelblau', 'rosenbrock', 'saddle']
    >>> paths = teach.compare("rosenbrock", {"SGD": {"optimizer": "sgd"},
    ...                       "momentum": {"optimizer": "momentum"}},
    ...                       learning_rate=1e-3, steps=2000)           # doctest: +SKIP
    >>> teach.trajectory_figure("rosenbrock", paths).show()             # doctest: +SKIP
"""

from __future__ import annotations

from workbench.teach._compression import (
    accuracy_bits_figure,
    accuracy_vs_bits,
    kernels,
    prune_histogram,
    prune_threshold,
    quant_histogram,
    quantization_errors,
    sparsity_image,
)
from workbench.teach._descent import (
    BATCHES,
    FORMULAS,
    OPTIMIZERS,
    SURFACES,
    Surface,
    Trajectory,
    compare,
    descend,
    loss_figure,
    surface,
    trajectory_figure,
)
from workbench.teach._explorer import descent_explorer
from workbench.teach._landscape import (
    Landscape,
    landscape_figure,
    loss_landscape,
    pca_directions,
    random_directions,
    weight_snapshots,
)
from workbench.teach.playground import FEATURES, Playground, PlaygroundView

__all__ = ["BATCHES", "FEATURES", "FORMULAS", "OPTIMIZERS", "SURFACES", "Landscape",
           "Playground", "PlaygroundView", "Surface", "Trajectory", "accuracy_bits_figure",
           "accuracy_vs_bits", "compare", "descend", "descent_explorer", "kernels",
           "landscape_figure", "loss_figure", "loss_landscape", "pca_directions",
           "prune_histogram", "prune_threshold", "quant_histogram", "quantization_errors",
           "random_directions", "sparsity_image", "surface", "trajectory_figure",
           "weight_snapshots"]
