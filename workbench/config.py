"""`ExperimentConfig`: one validated description of an experiment.

Every surface of the workbench is generated from the field metadata declared here, once per
field: the CLI flags (``workbench train --learning-rate 0.01``), the widgets, the papermill
``parameters`` cells and the sweep grids. A field's metadata is a :class:`FieldSpec` (type,
default, choices or range, help text, group).

Values are JSON primitives (str, int, float, bool, None, lists of those). List fields are held
as tuples so that a config is hashable; ``to_dict()`` gives lists back.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from workbench.architectures import MODEL_PATHS, MODELS, check_model_spec
from workbench.config_checks import CROSS_FIELD_RULES, load_config_file, parse_text
from workbench.data.sources import DATASET_PATHS, DATASETS, check_spec, short_name
from workbench.exceptions import ConfigError, UnknownFieldError, did_you_mean
from workbench.exports import EXPORTS
from workbench.fields import FieldSpec, GivenFields, live_names
from workbench.training.optimizers import OPTIMIZERS
from workbench.training.schedules import LR_SCHEDULES

GROUPS = ("data", "model", "training", "compression")

ACTIVATIONS = ("relu", "tanh", "sigmoid", "gelu", "elu", "selu", "swish", "leaky_relu",
               "softplus", "linear")
STRATEGIES = ("default", "mirrored", "multi_worker")
JIT_MODES = ("auto", "on", "off")
PRUNE_SCHEDULES = ("constant", "polynomial")
PRUNE_STRUCTURES = ("unstructured", "units")
PRUNE_SCOPES = ("global", "layer")
QUANT_BITS = (2, 3, 4, 5, 6, 7, 8, 16)
QUANT_MODES = ("ptq", "qat", "keras")
QUANT_GRANULARITIES = ("per_tensor", "per_channel")
IMAGE_MODES = ("auto", "grayscale", "rgb")


class _Recommended:
    """The default of :data:`RECIPE_FIELDS`: replaced on creation by the data set's recipe
    value, or by the field's own default."""

    def __repr__(self) -> str:
        return "<the data set's recommended value>"


RECOMMENDED: Any = _Recommended()
#: Fields a data set's ``recipe`` may set when the config leaves them unset (and, through
#: ``lr_scale``, the learning rate when ``learning_rate`` is None).
RECIPE_FIELDS = ("batch_size", "epochs", "lr_schedule")


def recommended_value(dataset: str, name: str) -> Any:
    """What field ``name`` of :data:`RECIPE_FIELDS` is when a config on ``dataset`` leaves it
    unset: the data set's recipe value, else the field's default.

    Example:
        >>> from workbench.config import recommended_value
        >>> recommended_value("mnist1d", "epochs"), recommended_value("digits", "epochs")
        (60, 10)
    """
    info = DATASETS.get(dataset)
    return (info.recipe if info is not None else {}).get(name, FIELDS[name].default)


def _field(default: Any, help: str, group: str, kind: str, **kw: Any) -> Any:
    spec = dict(default=default, help=help, group=group, kind=kind, **kw)
    if isinstance(default, list | tuple):
        return dataclasses.field(default_factory=lambda: tuple(default), metadata={"spec": spec})
    return dataclasses.field(default=default, metadata={"spec": spec})


def _recipe_field(default: Any, help: str, group: str, kind: str, **kw: Any) -> Any:
    spec = dict(default=default, help=help, group=group, kind=kind, **kw)
    return dataclasses.field(default=RECOMMENDED, metadata={"spec": spec})


@dataclass(frozen=True)
class ExperimentConfig(GivenFields):
    """One experiment: data, model, training and compression settings, validated on creation.

    Invalid values raise :class:`workbench.ConfigError` naming the field, the value and what is
    allowed. The config is immutable: derive variants with :meth:`replace`.

    Example:
        >>> import workbench as wb
        >>> cfg = wb.ExperimentConfig(dataset="digits", model="mlp", hidden_units=[64],
        ...                           optimizer="nesterov", lr_schedule="one_cycle", epochs=3)
        >>> cfg.replace(learning_rate=0.05).learning_rate
        0.05
        >>> wb.ExperimentConfig.from_json(cfg.to_json()) == cfg
        True
    """

    # --- data ---
    dataset: str = _field(
        "digits", "Data set to train on: a name (see `workbench datasets`), a .npz, .csv or "
        ".parquet file, a folder of images (one subfolder per class), or "
        "package.module:function.", "data", "str", choices=live_names(DATASETS),
        open_check=check_spec, also=DATASET_PATHS, label="Data set", metavar="DATA")
    test_split: float = _field(
        0.2, "Test fraction of data without a test split of its own (an .npz of x, y; a table "
        "without a split column; a folder without train/ and test/): stratified, seed 0.",
        "data", "float", low=0.0, low_open=True, high=1.0, high_open=True, widget_max=0.5,
        label="Test split", unit="fraction")
    image_size: int | None = _field(
        None, "Side of the square images a folder is resized to (None = its most common size).",
        "data", "int", low=1, high=4096, optional=True, widget_max=512, label="Image size",
        unit="pixels")
    image_mode: str = _field("auto", "A folder's image channels: auto (grayscale if every image "
                             "is), grayscale or rgb.", "data", "str", choices=IMAGE_MODES,
                             label="Image channels")
    label_column: str = _field("label", "The label column of a .csv or .parquet table.", "data",
                               "str", label="Label column")
    validation_split: float = _field(
        0.1, "Fraction of the training set held out for validation (0 = none).", "data", "float",
        low=0.0, high=1.0, high_open=True, widget_max=0.5,
        label="Validation split", unit="fraction")
    max_train_samples: int | None = _field(
        None, "Use at most this many training samples (None = all).", "data", "int", low=1,
        optional=True, widget_max=60000, label="Max. training samples")
    # --- model ---
    model: str = _field(
        "mlp", "Architecture: a name (see `workbench models`), a .keras file (its architecture, "
        "with fresh weights) or package.module:function, a builder(input_shape, num_classes).",
        "model", "str", choices=live_names(MODELS), open_check=check_model_spec,
        also=MODEL_PATHS, label="Model", metavar="MODEL")
    hidden_units: list[int] = _field(
        [128, 64], "Hidden layer widths of the `mlp` model, e.g. 128,64.", "model", "int_list",
        low=1, high=65536, label="Hidden units", unit="per layer")
    activation: str = _field("relu", "Activation of hidden layers.", "model", "str",
                             choices=ACTIVATIONS, label="Activation")
    # --- training ---
    optimizer: str = _field(
        "adam", "Optimizer: sgd (plain), momentum / nesterov (SGD with momentum), or an adaptive "
        "one.", "training", "str", choices=tuple(OPTIMIZERS), label="Optimizer")
    learning_rate: float | None = _field(
        None, "Initial (peak, for one_cycle and warm-up) learning rate; None = the optimizer's "
        "recommended rate (0.05 for momentum/nesterov, 1e-3 for adam...), times the data set's "
        "lr_scale where it has one (on mnist1d: 10 for Adam and its kin, 3 for the rest).",
        "training", "float",
        low=0.0, low_open=True, high=10.0, log=True, optional=True, label="Learning rate")
    momentum: float = _field(
        0.9, "Momentum of the momentum and nesterov optimizers (plain sgd uses none).", "training",
        "float", low=0.0, high=1.0, high_open=True, widget_max=0.999, label="Momentum")
    weight_decay: float = _field(
        0.0, "Decoupled weight decay applied by the optimizer (0 = off).", "training", "float",
        low=0.0, high=1.0, high_open=True, widget_max=0.1, label="Weight decay")
    lr_schedule: str = _recipe_field(
        "constant", "Learning-rate schedule over the whole run (unset: the data set's "
        "recommended one, else constant).", "training", "str",
        choices=tuple(LR_SCHEDULES), label="LR schedule")
    warmup_epochs: int = _field(
        0, "Epochs of linear learning-rate warm-up before the schedule (must be < epochs).",
        "training", "int", low=0, widget_max=20, label="Warm-up", unit="epochs")
    batch_size: int = _recipe_field(
        32, "Mini-batch size; 0 = full batch (plain gradient descent), 1 = stochastic. Larger "
        "than the training set: clamped to it, with a warning. Unset: the data set's recommended "
        "size (100 on mnist1d), else 32.", "training", "int", low=0,
        widget_max=1024, label="Batch size", unit="samples")
    epochs: int = _recipe_field(
        10, "Passes over the training set; 0 (with init_from) compresses the source's weights "
        "without training. Unset: the data set's recommended number (60 on mnist1d), else 10.",
        "training", "int", low=0, high=100000, widget_max=100,
        label="Epochs", unit="epochs")
    seed: int = _field(0, "Random seed: the same config and seed give the same history.",
                       "training", "int", low=0, high=2**31 - 1, widget_max=1000, label="Seed")
    strategy: str = _field(
        "default", "Distribution: default (one device), mirrored (MirroredStrategy over the "
        "visible devices) or multi_worker (one model trained by N processes, each given a "
        "TF_CONFIG; `workbench train --workers N` starts them on this machine).", "training",
        "str", choices=STRATEGIES, label="Distribution")
    jit_compile: str = _field(
        "auto", "XLA-compile the train step: auto (on CPU, for runs of 500k samples or more of "
        "models without convolutions, where it is faster; off for convolutions, whose oneDNN "
        "kernels beat XLA, and for short runs, which would not pay back the compilation), on "
        "or off. "
        "Results stay bit-identical run to run either way.", "training", "str",
        choices=JIT_MODES, label="XLA compile")
    steps_per_execution: int = _field(
        0, "Train steps run per call from Python (fewer round trips, faster small batches); "
        "0 = auto (about 2048 samples a call, 1 when a callback of yours watches every batch). "
        "Live charts still get every batch's own loss; Stop acts within one call.", "training",
        "int", low=0, high=100000, widget_max=256, label="Steps per call", unit="steps")
    # --- compression ---
    init_from: str | None = _field(
        None, "Start from trained weights: a run id in the store, a run folder or a .keras "
        "file. The source's data set and architecture are used (a model or data field set to "
        "something else is an error); epochs=0 then compresses without training.",
        "compression", "str", optional=True, metavar="RUN", label="Start from")
    prune_ratio: float = _field(
        0.0, "Fraction of the weights of Dense/Conv layers set to zero by magnitude pruning "
        "(0 = no pruning).", "compression", "float", low=0.0, high=1.0, high_open=True,
        widget_max=0.99, label="Pruning ratio", unit="fraction of weights")
    prune_layer_ratios: dict[str, float] | None = _field(
        None, "Per-layer pruning ratios, e.g. dense_1=0.95,dense_2=0.9 (see "
        "wb.compress.suggest_layer_ratios). Listed layers are pruned to their own ratio; the "
        "others follow prune_ratio and prune_scope.", "compression", "ratio_map",
        optional=True, label="Per-layer pruning", unit="fraction per layer")
    prune_schedule: str = _field(
        "polynomial", "How sparsity grows: constant (all at prune_begin) or polynomial (the "
        "gradual cubic ramp of Zhu & Gupta 2017, from prune_begin to prune_end).", "compression",
        "str", choices=PRUNE_SCHEDULES, label="Pruning schedule")
    prune_structure: str = _field(
        "unstructured", "unstructured (single weights) or units (whole Dense units and Conv "
        "filters, rebuilt into a smaller model).", "compression", "str", choices=PRUNE_STRUCTURES,
        label="Pruning structure")
    prune_scope: str = _field(
        "global", "global (one magnitude threshold over all prunable layers, so large layers "
        "lose more) or layer (every layer pruned to prune_ratio).", "compression", "str",
        choices=PRUNE_SCOPES, label="Pruning scope")
    prune_begin: float = _field(
        0.0, "When pruning starts, as a fraction of training.", "compression", "float",
        low=0.0, high=1.0, high_open=True, label="Pruning starts", unit="fraction of training")
    prune_end: float = _field(
        0.5, "When the target sparsity is reached (polynomial), as a fraction of training; the "
        "rest of training fine-tunes the pruned network.", "compression", "float", low=0.0,
        low_open=True, high=1.0, label="Pruning ends", unit="fraction of training")
    quant_bits: int | None = _field(
        None, "Weight bit-width of Dense/Conv layers: 2..8 (integer levels), 16 (float16), or "
        "None (float32).", "compression", "int", choices=QUANT_BITS, optional=True,
        label="Weight bits", unit="bits")
    quant_bits_conv: int | None = _field(
        None, "Bit-width of Conv and DepthwiseConv kernels when it should differ from "
        "quant_bits (None = quant_bits). Conv layers hold few weights and are sensitive: Deep "
        "Compression kept them at 8 bits and fully connected layers at 5.", "compression", "int",
        choices=QUANT_BITS, optional=True, label="Conv bits", unit="bits")
    quant_mode: str = _field(
        "ptq", "ptq (round the trained weights, calibrated), qat (quantization-aware training: "
        "fake quantization with a straight-through estimator), or keras (Keras's own "
        "model.quantize, int8/int4, Dense layers only).", "compression", "str",
        choices=QUANT_MODES, label="Quantization")
    quant_granularity: str = _field(
        "per_channel", "One quantization grid per output channel, or one per tensor.",
        "compression", "str", choices=QUANT_GRANULARITIES, label="Quantization grid")
    cluster_k: int | None = _field(
        None, "Weight sharing: replace each layer's weights by k k-means centroids (None = "
        "off).", "compression", "int", low=2, high=256, optional=True,
        label="Clusters", unit="centroids")
    distill_teacher: str | None = _field(
        None, "Train against a teacher: a run id in the store, or a .keras model path.",
        "compression", "str", optional=True, label="Teacher")
    distill_temperature: float = _field(
        4.0, "Softmax temperature of the distillation targets.", "compression", "float",
        low=0.0, low_open=True, high=100.0, widget_max=20.0, label="Distillation temperature")
    distill_alpha: float = _field(
        0.5, "Weight of the distillation loss (1 - alpha goes to the labels' loss).",
        "compression", "float", low=0.0, high=1.0, label="Distillation weight")
    export: list[str] = _field(
        ["keras", "packed"], "Artifacts to write and evaluate: "
        + "; ".join(f"{e.name}, {e.description}" for e in EXPORTS.values()) + ".",
        "compression", "str_list", choices=tuple(EXPORTS), label="Export")
    run_name: str | None = _field(None, "A label for the run (shown in tables and folders).",
                                  "training", "str", optional=True, label="Run name")

    def __post_init__(self) -> None:
        unset = [n for n in RECIPE_FIELDS if getattr(self, n) is RECOMMENDED]
        for name in unset:
            object.__setattr__(self, name, recommended_value(self.dataset, name)
                               if isinstance(self.dataset, str) else FIELDS[name].default)
        object.__setattr__(self, "_unset", frozenset(unset))
        for f in dataclasses.fields(self):
            spec = FIELDS[f.name]
            object.__setattr__(self, f.name, spec.check(getattr(self, f.name)))
        for rule in CROSS_FIELD_RULES:
            rule(self)

    # --- conversions ---
    def to_dict(self) -> dict[str, Any]:
        """Return the config as a dict of JSON primitives (lists, not tuples).

        Example:
            >>> import workbench as wb
            >>> wb.ExperimentConfig().to_dict()["hidden_units"]
            [128, 64]
        """
        return {f.name: FIELDS[f.name].plain(getattr(self, f.name))
                for f in dataclasses.fields(self)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ExperimentConfig:
        """Build a config from a mapping; unknown keys are rejected, listing the valid ones.

        Example:
            >>> import workbench as wb
            >>> wb.ExperimentConfig.from_dict({"epochs": 2}).epochs
            2
        """
        if not isinstance(data, Mapping):
            raise ConfigError(None, data, message=f"a config must be a mapping of field names to "
                              f"values, not {type(data).__name__}")
        check_field_names(data)
        cfg = cls(**dict(data))
        cfg.mark_given(frozenset(k for k in data if FIELDS[k].plain(getattr(cfg, k)) !=
                                 FIELDS[k].plain(FIELDS[k].check(FIELDS[k].default))))
        return cfg

    def replace(self, **changes: Any) -> ExperimentConfig:
        """Return a copy with some fields changed (validated like a new config).

        Example:
            >>> import workbench as wb
            >>> wb.ExperimentConfig().replace(optimizer="sgd").optimizer
            'sgd'
        """
        check_field_names(changes)
        kept = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)
                if f.name not in self.unset}
        new = type(self)(**{**kept, **changes})
        new.mark_given(self.given | frozenset(changes))
        return new

    @property
    def unset(self) -> frozenset[str]:
        """The fields of :data:`RECIPE_FIELDS` the config left unset: they follow the data set.

        Example:
            >>> import workbench as wb
            >>> sorted(wb.ExperimentConfig(epochs=3).unset)
            ['batch_size', 'lr_schedule']
        """
        return getattr(self, "_unset", frozenset())

    @property
    def recommended(self) -> dict[str, Any]:
        """The settings this config took from its data set's recipe, because it left them unset
        (a field set explicitly, even to its usual default, keeps its value; ``replace`` with
        another data set re-resolves them; a saved config holds the resolved values).

        Example:
            >>> import workbench as wb
            >>> wb.ExperimentConfig(dataset="mnist1d", model="small_cnn", epochs=5).recommended
            {'batch_size': 100, 'lr_schedule': 'cosine', 'learning_rate': 0.01}
        """
        info = DATASETS.get(self.dataset)
        recipe = info.recipe if info is not None else {}
        out = {n: getattr(self, n) for n in RECIPE_FIELDS
               if n in self.unset and n in recipe}
        if self.learning_rate is None and self._lr_scale() != 1.0:
            out["learning_rate"] = self.lr
        return out

    def to_json(self, indent: int | None = 2) -> str:
        """Serialize to JSON text."""
        return json.dumps(self.to_dict(), indent=indent, sort_keys=False)

    @classmethod
    def from_json(cls, text: str) -> ExperimentConfig:
        """Parse JSON text (see :meth:`from_dict`)."""
        return cls.from_dict(parse_text(text, "JSON", "config", None))

    def to_yaml(self) -> str:
        """Serialize to YAML text."""
        import yaml

        return yaml.safe_dump(self.to_dict(), sort_keys=False)

    @classmethod
    def from_yaml(cls, text: str) -> ExperimentConfig:
        """Parse YAML text (see :meth:`from_dict`)."""
        return cls.from_dict(parse_text(text, "YAML", "config", None) or {})

    @classmethod
    def load(cls, path: str | Path) -> ExperimentConfig:
        """Read a ``.json``, ``.yaml`` or ``.yml`` config file.

        Example:
            >>> import workbench as wb, tempfile, os
            >>> p = os.path.join(tempfile.mkdtemp(), "cfg.yaml")
            >>> wb.ExperimentConfig(epochs=4).save(p)
            >>> wb.ExperimentConfig.load(p).epochs
            4
        """
        return cls.from_dict(load_config_file(path))

    def save(self, path: str | Path) -> None:
        """Write the config as JSON or YAML, chosen by the file extension."""
        p = Path(path)
        text = self.to_yaml() if p.suffix.lower() in (".yaml", ".yml") else self.to_json()
        p.write_text(text)

    @property
    def lr(self) -> float:
        """The learning rate in effect: ``learning_rate``, or the optimizer's recommended one
        (times the data set's ``lr_scale``, where its recipe has one).

        Example:
            >>> import workbench as wb
            >>> wb.ExperimentConfig(optimizer="nesterov").lr
            0.05
        """
        if self.learning_rate is not None:
            return self.learning_rate
        return OPTIMIZERS[self.optimizer].default_lr * self._lr_scale()

    def _lr_scale(self) -> float:
        info = DATASETS.get(self.dataset)
        scales = info.recipe.get("lr_scale", {}) if info is not None else {}
        return float(scales.get("adaptive" if OPTIMIZERS[self.optimizer].adaptive else "other",
                                1.0))

    @property
    def model_options(self) -> dict[str, Any]:
        """The model group's options, as the model builders take them (all but ``model``).

        Example:
            >>> import workbench as wb
            >>> wb.ExperimentConfig(hidden_units=[32]).model_options
            {'hidden_units': (32,), 'activation': 'relu'}
        """
        return {s.name: getattr(self, s.name) for s in FIELDS.values()
                if s.group == "model" and s.name != "model"}

    @property
    def prunes(self) -> bool:  # any weight pruned (prune_ratio or prune_layer_ratios)
        return self.prune_ratio > 0 or any(r > 0 for _, r in self.prune_layer_ratios or ())

    @property
    def label(self) -> str:
        """``run_name``, or a short label like ``digits-mlp-adam`` (used in run ids; a path or
        ``module:function`` shows its last part)."""
        return self.run_name or f"{short_name(self.dataset)}-{short_name(self.model)}-" \
            f"{self.optimizer}"


def check_field_names(names: Mapping[str, Any] | list[str]) -> None:
    """Raise UnknownFieldError for any name that is not a config field."""
    for key in names:
        if key not in FIELDS:
            raise UnknownFieldError(
                key, message=f"unknown config field {key!r}{did_you_mean(key, FIELDS)}; valid "
                f"fields: {', '.join(FIELDS)}")


FIELDS: dict[str, FieldSpec] = {f.name: FieldSpec(name=f.name, **f.metadata["spec"])
                                for f in dataclasses.fields(ExperimentConfig)}
"""All config fields' metadata, in declaration order."""


def fields_in_group(group: str) -> list[FieldSpec]:
    """The fields of one group (``data``, ``model``, ``training`` or ``compression``)."""
    if group not in GROUPS:
        raise ConfigError("group", group, "one of: " + ", ".join(GROUPS))
    return [s for s in FIELDS.values() if s.group == group]
