"""Compression recipes, measured: how a point is fine-tuned from the run it came from, and
Deep Compression (Han et al. 2016) on Fashion-MNIST.

The fine-tuning recipe: ``benchmarks/recovery.py`` measured it on Fashion-MNIST (mean of 3
seeds, 4 epochs from a 20-epoch dense run, pruning 0.92 + 4-bit QAT): prune at once (not the
gradual ramp: +0.5 pt), then train at ten times the source's learning rate, cosine-decayed
over the fine-tune (lower rates recover less: 1e-3 0.876, 2e-3 0.884, 1e-2 0.893 on one
LeNet-300-100), distilling lightly from the source (alpha 0.3, T 2). The Compress view's
"Fine-tune this point" and the benchmark both use :func:`fine_tune_config`.

The Deep Compression recipe: ``benchmarks/deep_compression.py`` and
``notebooks/21_deep_compression.ipynb`` both build their runs with
:func:`deep_compression_configs`.
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


#: Deep Compression (Han et al. 2016, Table 1) on Fashion-MNIST: what every run shares. The
#: dense control trains as long as the pipeline, so fine-tuning is not credited to compression.
DEEP_COMPRESSION_COMMON: dict[str, Any] = {
    "dataset": "fashion_mnist", "optimizer": "adam", "learning_rate": 1e-3,
    "lr_schedule": "cosine", "batch_size": 128, "validation_split": 0.0, "epochs": 30,
    "prune_scope": "global", "prune_schedule": "polynomial", "prune_begin": 0.0,
    "prune_end": 0.6, "export": ["packed"]}

#: The compression settings per model: gradual global pruning, then quantization-aware
#: training, then the entropy-coded ``.wbz`` (accuracy measured after unpacking it).
DEEP_COMPRESSION: dict[str, dict[str, Any]] = {
    "lenet300_100": {"prune_ratio": 0.92, "quant_bits": 4, "quant_mode": "qat",
                     "quant_granularity": "per_tensor"},
    "lenet5": {"prune_ratio": 0.925, "quant_bits": 5, "quant_mode": "qat",
               "quant_granularity": "per_tensor"},
}


def deep_compression_configs(model: str, seed: int = 0, **overrides: Any
                             ) -> tuple[ExperimentConfig, ExperimentConfig]:
    """The dense control and the compressed run of :data:`DEEP_COMPRESSION` for ``model``.

    ``overrides`` (``epochs``, ``max_train_samples``, ``prune_ratio``...) apply to both, except
    compression settings, which only the compressed run has.

    Example:
        >>> from workbench.compress.recipes import deep_compression_configs
        >>> dense, packed = deep_compression_configs("lenet300_100", seed=1, epochs=3)
        >>> dense.prune_ratio, packed.prune_ratio, packed.quant_bits, packed.epochs
        (0.0, 0.92, 4, 3)
    """
    recipe = {**DEEP_COMPRESSION[model], **{k: v for k, v in overrides.items()
                                            if k in DEEP_COMPRESSION[model]}}
    shared = {**DEEP_COMPRESSION_COMMON, **{k: v for k, v in overrides.items()
                                            if k not in recipe}, "model": model, "seed": seed}
    dense = ExperimentConfig.from_dict(shared)
    return dense, dense.replace(**recipe)
