"""How a compressed point is fine-tuned from the run it came from: one recipe, measured.

``benchmarks/recovery.py`` measured it on Fashion-MNIST (mean of 3 seeds, 4 epochs from a
20-epoch dense run, pruning 0.92 + 4-bit QAT): prune at once (not the gradual ramp: +0.5 pt),
then train at ten times the source's learning rate, cosine-decayed over the fine-tune (lower
rates recover less: 1e-3 0.876, 2e-3 0.884, 1e-2 0.893 on one LeNet-300-100), distilling
lightly from the source (alpha 0.3, T 2). The Compress view's "Fine-tune this point" and the
benchmark both use :func:`fine_tune_config`.
"""

from __future__ import annotations

from typing import Any

from workbench.config import ExperimentConfig
from workbench.training.optimizers import OPTIMIZERS

#: The fine-tuning recipe: settings of the run, and ``lr_factor`` times the source's rate
#: (for the adaptive optimizers it was measured with; the others keep the source's rate).
FINE_TUNE: dict[str, Any] = {"lr_factor": 10.0, "lr_schedule": "cosine", "warmup_epochs": 0,
                             "prune_schedule": "constant", "prune_begin": 0.0,
                             "distill_alpha": 0.3, "distill_temperature": 2.0}


def fine_tune_config(source: ExperimentConfig, source_run: str, epochs: int,
                     **settings: Any) -> ExperimentConfig:
    """The config that fine-tunes ``settings`` (prune_ratio, quant_bits, ...) from a run.

    Training starts from the run's weights (``init_from``) and distills from it; quantization
    is trained (QAT) when integer bits are set. How it trains (schedule, pruning schedule,
    distillation) is :data:`FINE_TUNE`'s: such keys in ``settings`` are overridden.

    Example:
        >>> import workbench as wb
        >>> from workbench.compress.recipes import fine_tune_config
        >>> cfg = fine_tune_config(wb.ExperimentConfig(optimizer="adam"), "runs/dense", 4,
        ...                        prune_ratio=0.92, quant_bits=4)
        >>> cfg.learning_rate, cfg.quant_mode, cfg.init_from
        (0.01, 'qat', 'runs/dense')
    """
    recipe = dict(FINE_TUNE)
    factor = recipe.pop("lr_factor")
    if not OPTIMIZERS[source.optimizer].adaptive:
        factor = 1.0  # measured with Adam's family; sgd's recommended 0.1 is already large
    bits = settings.get("quant_bits", source.quant_bits)
    conv = settings.get("quant_bits_conv", source.quant_bits_conv)
    qat = bits not in (None, 16) and conv != 16
    return source.replace(**{**settings, **recipe,  # how to train is the recipe's to say
                             "learning_rate": min(10.0, factor * source.lr),
                             "init_from": source_run, "distill_teacher": source_run,
                             "epochs": int(epochs), "quant_mode": "qat" if qat else "ptq"})
