"""`PruningScheduler`: raise a wrapped model's sparsity along a schedule during ``fit``.

It lives with the compression code, as tfmot's ``pruning_callbacks`` do, rather than in
:mod:`workbench.callbacks`: those are the layer below compression (compression uses them), and
this callback acts on compression's masks.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from workbench._tf import keras
from workbench.callbacks.step_log import steps_in_call
from workbench.compress.pruning import apply_masks, polynomial_sparsity

ops = keras.ops


class PruningScheduler(keras.callbacks.Callback):
    """Raise the sparsity of a wrapped model's masks along a schedule during ``fit``.

    ``model`` is the wrapped model whose masks change (default: the model being fit; pass the
    student when fitting a distiller). The masks are updated about 50 times over the pruning
    window (each time the scheduled sparsity has grown by 1/50 of the target) and at the
    window's end, where the target is reached exactly (with several steps per call, at the
    start of the call that reaches it; ``wb.run`` keeps calls short enough for the 50
    updates); an update costs ~6 ms for
    LeNet-300-100's 266k weights. Fewer, coarser updates gave a bigger artifact at equal
    sparsity: 16 updates 8,697 B vs 50 updates 7,765 B (tfmot tutorial CNN, 80%, 8 bits).
    Between updates the :class:`MaskConstraint` keeps pruned weights at zero inside the
    compiled train step.

    Example:
        >>> import keras, numpy as np, workbench.compress as C
        >>> m = C.wrap(keras.Sequential([keras.Input((8,)), keras.layers.Dense(4)]),
        ...            prune="unstructured")
        >>> m.compile("sgd", "mse")
        >>> _ = m.fit(np.ones((64, 8)), np.zeros((64, 4)), epochs=2, batch_size=8, verbose=0,
        ...           callbacks=[C.PruningScheduler(0.5, 0, 8)])
        >>> float((C.strip(m).layers[-1].kernel.numpy() == 0).mean())
        0.5
    """

    multi_step_aware = True  # right with several steps per call (steps_per_execution)

    def __init__(self, target: float, begin_step: int, end_step: int, *,
                 schedule: str = "polynomial", scope: str = "global",
                 structure: str = "unstructured", model: Any = None,
                 layer_ratios: Mapping[str, float] | None = None) -> None:
        super().__init__()
        self.target_model = model  # the wrapped model; None = the model being fit
        self.target = float(target)
        self.layer_ratios = dict(layer_ratios or {})  # layers with their own target
        self.begin_step, self.end_step = int(begin_step), int(end_step)
        self.schedule, self.scope, self.structure = schedule, scope, structure
        self.current = 0.0  # progress towards the targets, 0..1
        self.step = 0

    def progress_at(self, step: int) -> float:
        """The fraction of every target reached at ``step`` (0..1)."""
        if self.schedule == "constant":
            return 1.0 if step >= self.begin_step else 0.0
        return polynomial_sparsity(step, 1.0, self.begin_step, self.end_step)

    def sparsity_at(self, step: int) -> float:
        return self.target * self.progress_at(step)

    def on_train_begin(self, logs: Any = None) -> None:
        self.step = int(ops.convert_to_numpy(self.model.optimizer.iterations))

    def on_train_batch_begin(self, batch: int, logs: Any = None) -> None:
        p = self.progress_at(self.step)
        if p > self.current and (p - self.current >= 1 / 50 or p == 1.0):
            own = {name: r * p for name, r in self.layer_ratios.items()}
            apply_masks(self.target_model or self.model, self.target * p, self.scope,
                        self.structure, own)
            self.current = p
        calls = int(getattr(self.model, "steps_per_execution", 1) or 1)
        self.step += steps_in_call(self, batch, batch + calls - 1)
