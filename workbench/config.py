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
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from workbench.architectures import MODELS
from workbench.data import DATASETS
from workbench.exceptions import ConfigError, UnknownFieldError, did_you_mean

GROUPS = ("data", "model", "training", "compression")

OPTIMIZERS = ("sgd", "momentum", "nesterov", "adagrad", "adadelta", "rmsprop", "adam", "adamw",
              "nadam", "adamax", "lion")
LR_SCHEDULES = ("constant", "step", "exponential", "inverse_time", "inverse_sqrt", "polynomial",
                "cosine", "cosine_restarts", "warmup_cosine", "one_cycle", "plateau")
ACTIVATIONS = ("relu", "tanh", "sigmoid", "gelu", "elu", "selu", "swish", "leaky_relu",
               "softplus", "linear")
STRATEGIES = ("default", "mirrored")
JIT_MODES = ("auto", "on", "off")
PRUNE_SCHEDULES = ("constant", "polynomial")
PRUNE_STRUCTURES = ("unstructured", "units")
PRUNE_SCOPES = ("global", "layer")
QUANT_BITS = (2, 3, 4, 5, 6, 7, 8, 16)
QUANT_MODES = ("ptq", "qat", "keras")
QUANT_GRANULARITIES = ("per_tensor", "per_channel")
EXPORTS = ("keras", "tflite_float32", "tflite_float16", "tflite_dynamic", "tflite_int8",
           "packed")

DEFAULT_LEARNING_RATES = {
    "sgd": 0.1, "momentum": 0.05, "nesterov": 0.05, "adagrad": 0.05, "adadelta": 1.0,
    "rmsprop": 1e-3, "adam": 1e-3, "adamw": 1e-3, "nadam": 1e-3, "adamax": 2e-3, "lion": 1e-4}
"""The learning rate used when ``learning_rate`` is None: a sound starting point per optimizer."""


@dataclass(frozen=True)
class FieldSpec:
    """Metadata of one config field: everything a CLI flag, a widget or a check needs.

    ``kind`` is one of ``str``, ``int``, ``float``, ``bool``, ``int_list``, ``str_list``
    (a list of ``choices``), ``ratio_map`` (names mapped to fractions in [0, 1), held as a
    tuple of ``(name, ratio)`` pairs).
    ``low``/``high`` bound numeric values (``low_open``/``high_open`` make a bound exclusive);
    for ``int_list`` they bound each element. ``log`` asks widgets for a log-scale slider.
    ``widget_max`` is a sensible upper end for a slider when ``high`` is unbounded.

    Example:
        >>> from workbench.config import FIELDS
        >>> FIELDS["learning_rate"].group
        'training'
    """

    name: str
    kind: str
    default: Any
    help: str
    group: str
    choices: tuple[Any, ...] | None = None
    low: float | None = None
    high: float | None = None
    low_open: bool = False
    high_open: bool = False
    optional: bool = False
    log: bool = False
    widget_max: float | None = None
    metavar: str | None = None  # the CLI's name for the value, e.g. RUN
    label: str = ""  # what people call it, for controls, help, tables and axes
    unit: str = ""  # e.g. "bits", "epochs", "fraction of weights"

    @property
    def title(self) -> str:
        """The label with its unit, for axes and table headers: ``Weight bits (bits)``.

        Example:
            >>> from workbench.config import FIELDS
            >>> FIELDS["prune_ratio"].title
            'Pruning ratio (fraction of weights)'
        """
        label = self.label or self.name
        return (f"{label} ({self.unit})" if self.unit and self.unit.lower() not in label.lower()
                else label)

    @property
    def flag(self) -> str:
        """The CLI flag, e.g. ``--learning-rate``."""
        return "--" + self.name.replace("_", "-")

    def describe_allowed(self) -> str:
        """A human-readable description of the allowed values."""
        if self.kind == "str_list":
            text = "a list of: " + ", ".join(str(c) for c in self.choices or ())
        elif self.kind == "ratio_map":
            text = "a mapping of layer names to ratios >= 0 and < 1, e.g. dense_1=0.9,logits=0.5"
        elif self.choices is not None:
            text = "one of: " + ", ".join(str(c) for c in self.choices)
        elif self.kind == "bool":
            text = "true or false"
        elif self.kind == "int_list":
            text = "a non-empty list of integers" + self._range_text(" each")
        elif self.kind in ("int", "float"):
            noun = "an integer" if self.kind == "int" else "a number"
            text = noun + self._range_text("")
        else:
            text = "a string"
        if self.optional:
            text += ", or None"
        return text

    def _range_text(self, prefix: str) -> str:
        parts = []
        if self.low is not None:
            parts.append(f"{'>' if self.low_open else '>='} {_fmt(self.low)}")
        if self.high is not None:
            parts.append(f"{'<' if self.high_open else '<='} {_fmt(self.high)}")
        return (prefix + " " + " and ".join(parts)) if parts else ""

    def check(self, value: Any) -> Any:
        """Return ``value`` normalized (int -> float, list -> tuple) or raise ConfigError."""
        if value is None:
            if self.optional:
                return None
            raise ConfigError(self.name, value, self.describe_allowed())
        if self.kind == "ratio_map":
            return self._check_ratio_map(value)
        if self.kind == "int_list":
            if isinstance(value, str | bytes) or not isinstance(value, list | tuple) or not value:
                raise ConfigError(self.name, value, self.describe_allowed())
            for item in value:
                if not _is_int(item) or not self._in_range(item):
                    raise ConfigError(self.name, value, self.describe_allowed())
            return tuple(int(v) for v in value)
        if self.kind == "str_list":
            if isinstance(value, str):
                value = [value]
            if not isinstance(value, list | tuple):
                raise ConfigError(self.name, value, self.describe_allowed())
            for item in value:
                if not isinstance(item, str) or item not in (self.choices or ()):
                    raise ConfigError(self.name, value, self.describe_allowed()
                                      + did_you_mean(str(item), self.choices or ()))
            return tuple(dict.fromkeys(value))  # drop repeats, keep order
        if self.kind == "bool":
            if not isinstance(value, bool):
                raise ConfigError(self.name, value, self.describe_allowed())
            return value
        if self.kind == "int":
            if not _is_int(value):
                raise ConfigError(self.name, value, self.describe_allowed())
            value = int(value)
        elif self.kind == "float":
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise ConfigError(self.name, value, self.describe_allowed())
            value = float(value)
            if not math.isfinite(value):
                raise ConfigError(self.name, value, self.describe_allowed())
        elif self.kind == "str" and not isinstance(value, str):
            raise ConfigError(self.name, value, self.describe_allowed())
        if self.choices is not None and value not in self.choices:
            raise ConfigError(self.name, value, self.describe_allowed()
                              + did_you_mean(value, self.choices))
        if self.kind in ("int", "float") and not self._in_range(value):
            raise ConfigError(self.name, value, self.describe_allowed())
        return value

    def _check_ratio_map(self, value: Any) -> tuple[tuple[str, float], ...] | None:
        pairs = list(value.items()) if isinstance(value, Mapping) else value
        if not isinstance(pairs, list | tuple) or not all(
                isinstance(p, list | tuple) and len(p) == 2 for p in pairs):
            raise ConfigError(self.name, value, self.describe_allowed())
        out: dict[str, float] = {}
        for name, ratio in pairs:
            if not isinstance(name, str) or not name:
                raise ConfigError(self.name, value, self.describe_allowed()
                                  + f" (key {name!r} is not a layer name)")
            if isinstance(ratio, bool) or not isinstance(ratio, int | float) or not (
                    0 <= ratio < 1):
                raise ConfigError(self.name, value, self.describe_allowed()
                                  + f" ({name}={ratio!r} is out of range)")
            out[name] = float(ratio)
        return tuple(out.items()) if out else None

    def _in_range(self, v: float) -> bool:
        if self.low is not None and (v < self.low or (self.low_open and v == self.low)):
            return False
        hi = self.high
        return not (hi is not None and (v > hi or (self.high_open and v == hi)))

    def parse(self, text: str) -> Any:
        """Parse a command-line string into this field's type (then call :meth:`check`)."""
        t = text.strip()
        if self.optional and t.lower() in ("none", "null", ""):
            return None
        try:
            if self.kind == "ratio_map":
                if t.startswith("{"):
                    return json.loads(t)
                pairs = [p.split("=", 1) for p in t.split(",") if p.strip()]
                if any(len(p) != 2 for p in pairs):
                    raise ValueError(t)
                return {k.strip(): float(v) for k, v in pairs}
            if self.kind == "int_list":
                return [int(p) for p in t.strip("[]()").split(",") if p.strip()]
            if self.kind == "str_list":
                return [p.strip().strip("'\"") for p in t.strip("[]()").split(",") if p.strip()]
            if self.kind == "bool":
                low = t.lower()
                if low in ("true", "1", "yes", "on"):
                    return True
                if low in ("false", "0", "no", "off"):
                    return False
                raise ValueError(t)
            if self.kind == "int":
                return int(t)
            if self.kind == "float":
                return float(t)
        except ValueError:  # json.JSONDecodeError is a ValueError too
            raise ConfigError(self.name, text, self.describe_allowed()) from None
        return t


def _plain(spec: FieldSpec, value: Any) -> Any:
    """A field's value as JSON primitives (tuples back to lists, pairs back to a dict)."""
    if spec.kind == "ratio_map" and value is not None:
        return dict(value)
    return list(value) if isinstance(value, tuple) else value


def _is_int(v: Any) -> bool:
    if isinstance(v, bool):
        return False
    if isinstance(v, int):
        return True
    return isinstance(v, float) and v.is_integer()


def _fmt(x: float) -> str:
    return str(int(x)) if float(x).is_integer() and abs(x) < 1e15 else repr(x)


def _field(default: Any, help: str, group: str, kind: str, **kw: Any) -> Any:
    spec = dict(default=default, help=help, group=group, kind=kind, **kw)
    if isinstance(default, list | tuple):
        return dataclasses.field(default_factory=lambda: tuple(default), metadata={"spec": spec})
    return dataclasses.field(default=default, metadata={"spec": spec})


@dataclass(frozen=True)
class ExperimentConfig:
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
    dataset: str = _field("digits", "Data set to train on (see `workbench datasets`).", "data",
                          "str", choices=tuple(DATASETS), label="Data set")
    validation_split: float = _field(
        0.1, "Fraction of the training set held out for validation (0 = none).", "data", "float",
        low=0.0, high=1.0, high_open=True, widget_max=0.5,
        label="Validation split", unit="fraction")
    max_train_samples: int | None = _field(
        None, "Use at most this many training samples (None = all).", "data", "int", low=1,
        optional=True, widget_max=60000, label="Max. training samples")
    # --- model ---
    model: str = _field("mlp", "Architecture (see `workbench models`).", "model", "str",
                        choices=tuple(MODELS), label="Model")
    hidden_units: list[int] = _field(
        [128, 64], "Hidden layer widths of the `mlp` model, e.g. 128,64.", "model", "int_list",
        low=1, high=65536, label="Hidden units", unit="per layer")
    activation: str = _field("relu", "Activation of hidden layers.", "model", "str",
                             choices=ACTIVATIONS, label="Activation")
    # --- training ---
    optimizer: str = _field(
        "adam", "Optimizer: sgd (plain), momentum / nesterov (SGD with momentum), or an adaptive "
        "one.", "training", "str", choices=OPTIMIZERS, label="Optimizer")
    learning_rate: float | None = _field(
        None, "Initial (peak, for one_cycle and warm-up) learning rate; None = the optimizer's "
        "recommended rate (0.05 for momentum/nesterov, 1e-3 for adam...).", "training", "float",
        low=0.0, low_open=True, high=10.0, log=True, optional=True, label="Learning rate")
    momentum: float = _field(
        0.9, "Momentum of the momentum and nesterov optimizers (plain sgd uses none).", "training",
        "float", low=0.0, high=1.0, high_open=True, widget_max=0.999, label="Momentum")
    weight_decay: float = _field(
        0.0, "Decoupled weight decay applied by the optimizer (0 = off).", "training", "float",
        low=0.0, high=1.0, high_open=True, widget_max=0.1, label="Weight decay")
    lr_schedule: str = _field(
        "constant", "Learning-rate schedule over the whole run.", "training", "str",
        choices=LR_SCHEDULES, label="LR schedule")
    warmup_epochs: int = _field(
        0, "Epochs of linear learning-rate warm-up before the schedule (must be < epochs).",
        "training", "int", low=0, widget_max=20, label="Warm-up", unit="epochs")
    batch_size: int = _field(
        32, "Mini-batch size; 0 = full batch (plain gradient descent), 1 = stochastic. Larger "
        "than the training set: clamped to it, with a warning.", "training", "int", low=0,
        widget_max=1024, label="Batch size", unit="samples")
    epochs: int = _field(
        10, "Passes over the training set; 0 (with init_from) compresses the source's weights "
        "without training.", "training", "int", low=0, high=100000, widget_max=100,
        label="Epochs", unit="epochs")
    seed: int = _field(0, "Random seed: the same config and seed give the same history.",
                       "training", "int", low=0, high=2**31 - 1, widget_max=1000, label="Seed")
    strategy: str = _field(
        "default", "Distribution: default (one device) or mirrored (MirroredStrategy over the "
        "visible devices).", "training", "str", choices=STRATEGIES, label="Distribution")
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
        ["keras", "packed"], "Artifacts to write and evaluate: keras, packed (.wbz), "
        "tflite_float32, tflite_float16, tflite_dynamic, tflite_int8.", "compression",
        "str_list", choices=EXPORTS, label="Export")
    run_name: str | None = _field(None, "A label for the run (shown in tables and folders).",
                                  "training", "str", optional=True, label="Run name")

    def __post_init__(self) -> None:
        for f in dataclasses.fields(self):
            spec = FIELDS[f.name]
            object.__setattr__(self, f.name, spec.check(getattr(self, f.name)))
        for rule in _CROSS_FIELD_RULES:
            rule(self)

    # --- conversions ---
    def to_dict(self) -> dict[str, Any]:
        """Return the config as a dict of JSON primitives (lists, not tuples).

        Example:
            >>> import workbench as wb
            >>> wb.ExperimentConfig().to_dict()["hidden_units"]
            [128, 64]
        """
        return {f.name: _plain(FIELDS[f.name], getattr(self, f.name))
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
        return cls(**dict(data))

    def replace(self, **changes: Any) -> ExperimentConfig:
        """Return a copy with some fields changed (validated like a new config).

        Example:
            >>> import workbench as wb
            >>> wb.ExperimentConfig().replace(optimizer="sgd").optimizer
            'sgd'
        """
        check_field_names(changes)
        return dataclasses.replace(self, **changes)

    def to_json(self, indent: int | None = 2) -> str:
        """Serialize to JSON text."""
        return json.dumps(self.to_dict(), indent=indent, sort_keys=False)

    @classmethod
    def from_json(cls, text: str) -> ExperimentConfig:
        """Parse JSON text (see :meth:`from_dict`)."""
        try:
            data = json.loads(text)
        except json.JSONDecodeError as e:
            raise ConfigError(None, message=f"malformed JSON config: {e}") from None
        return cls.from_dict(data)

    def to_yaml(self) -> str:
        """Serialize to YAML text."""
        import yaml

        return yaml.safe_dump(self.to_dict(), sort_keys=False)

    @classmethod
    def from_yaml(cls, text: str) -> ExperimentConfig:
        """Parse YAML text (see :meth:`from_dict`)."""
        import yaml

        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as e:
            raise ConfigError(None, message=f"malformed YAML config: {e}") from None
        return cls.from_dict(data or {})

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
        """The learning rate in effect: ``learning_rate``, or the optimizer's recommended one.

        Example:
            >>> import workbench as wb
            >>> wb.ExperimentConfig(optimizer="nesterov").lr
            0.05
        """
        if self.learning_rate is not None:
            return self.learning_rate
        return DEFAULT_LEARNING_RATES[self.optimizer]

    @property
    def prunes(self) -> bool:
        """True when any weight is to be pruned (``prune_ratio`` or ``prune_layer_ratios``)."""
        return self.prune_ratio > 0 or any(r > 0 for _, r in self.prune_layer_ratios or ())

    @property
    def label(self) -> str:
        """``run_name``, or a short label like ``digits-mlp-adam`` (used in run ids)."""
        return self.run_name or f"{self.dataset}-{self.model}-{self.optimizer}"


def load_config_file(path: str | Path) -> dict[str, Any]:
    """Read a JSON/YAML file into a dict, with a ConfigError for every way it can be wrong."""
    p = Path(path)
    if not p.is_file():
        raise ConfigError("config", str(path), message=f"config file {str(path)!r} does not exist")
    text = p.read_text()
    if p.suffix.lower() in (".yaml", ".yml"):
        import yaml

        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as e:
            raise ConfigError("config", str(path),
                              message=f"malformed YAML in {str(path)!r}: {e}") from None
    else:
        try:
            data = json.loads(text)
        except json.JSONDecodeError as e:
            raise ConfigError("config", str(path),
                              message=f"malformed JSON in {str(path)!r}: {e}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError("config", str(path), message=f"config file {str(path)!r} must hold a "
                          f"mapping of field names to values, not {type(data).__name__}")
    return data


def check_field_names(names: Mapping[str, Any] | list[str]) -> None:
    """Raise UnknownFieldError for any name that is not a config field."""
    for key in names:
        if key not in FIELDS:
            raise UnknownFieldError(
                key, message=f"unknown config field {key!r}{did_you_mean(key, FIELDS)}; valid "
                f"fields: {', '.join(FIELDS)}")


# --- cross-field rules: each raises ConfigError naming the field to change ---

def _warmup_shorter_than_training(c: ExperimentConfig) -> None:
    if c.warmup_epochs and c.warmup_epochs >= c.epochs:
        raise ConfigError("warmup_epochs", c.warmup_epochs,
                          f"an integer >= 0 and < epochs ({c.epochs})")


def _plateau_without_warmup(c: ExperimentConfig) -> None:
    if c.lr_schedule == "plateau" and c.warmup_epochs:
        raise ConfigError("warmup_epochs", c.warmup_epochs,
                          "0 with lr_schedule='plateau' (plateau adapts the rate from the "
                          "validation loss and has no warm-up)")


def _compression_only(c: ExperimentConfig) -> None:
    if c.epochs > 0:
        return
    if c.init_from is None:
        raise ConfigError("epochs", 0, "an integer >= 1; 0 (compression only, no training) "
                          "needs init_from: the trained weights to compress")
    if c.quant_mode == "qat":
        raise ConfigError("quant_mode", "qat", "'ptq' with epochs=0 (quantization-aware "
                          "training needs training; set epochs >= 1)")
    if c.distill_teacher is not None:
        raise ConfigError("distill_teacher", c.distill_teacher, "None with epochs=0 "
                          "(distillation trains the student)")


def _prune_window(c: ExperimentConfig) -> None:
    if c.prune_layer_ratios and c.prune_structure != "unstructured":
        raise ConfigError("prune_layer_ratios", dict(c.prune_layer_ratios), "None with "
                          "prune_structure='units' (per-layer ratios prune single weights)")
    if c.prunes and c.prune_schedule == "polynomial" and c.prune_begin >= c.prune_end:
        raise ConfigError("prune_begin", c.prune_begin,
                          f"a fraction < prune_end ({c.prune_end}) with the polynomial schedule")


def _quantization_settings(c: ExperimentConfig) -> None:
    if c.quant_mode in ("qat", "keras") and c.quant_bits is None:
        raise ConfigError("quant_bits", None, f"2..8 or 16 with quant_mode={c.quant_mode!r} "
                          f"(set quant_bits, or use quant_mode='ptq')")
    if c.quant_mode == "keras" and c.quant_bits not in (4, 8):
        raise ConfigError("quant_bits", c.quant_bits, "4 or 8 with quant_mode='keras' (Keras's "
                          "own int4/int8 quantization)")
    if c.quant_mode == "qat" and c.quant_bits == 16:
        raise ConfigError("quant_mode", "qat", "'ptq' with quant_bits=16 (float16 needs no "
                          "quantization-aware training)")
    if c.quant_bits_conv is not None:
        if c.quant_bits is None:
            raise ConfigError("quant_bits_conv", c.quant_bits_conv, "None unless quant_bits "
                              "is set (it overrides quant_bits for Conv layers)")
        if c.quant_mode == "keras":
            raise ConfigError("quant_bits_conv", c.quant_bits_conv, "None with "
                              "quant_mode='keras' (Keras's quantize() skips Conv layers)")
        if c.quant_mode == "qat" and c.quant_bits_conv == 16:
            raise ConfigError("quant_bits_conv", 16, "2..8 with quant_mode='qat' (float16 "
                              "needs no quantization-aware training)")
    if c.cluster_k is not None and c.quant_bits is not None:
        raise ConfigError("cluster_k", c.cluster_k, "None when quant_bits is set: clustering is "
                          "itself a quantization (to k shared values); choose one")


def _one_step_per_call_when_mirrored(c: ExperimentConfig) -> None:
    if c.strategy != "default" and c.steps_per_execution > 1:
        raise ConfigError("steps_per_execution", c.steps_per_execution,
                          f"0 (auto) or 1 with strategy={c.strategy!r} (Keras 3.15 fails to "
                          "run several steps per call under MirroredStrategy)")


_CROSS_FIELD_RULES: list[Callable[[ExperimentConfig], None]] = [
    _warmup_shorter_than_training, _plateau_without_warmup, _compression_only, _prune_window,
    _quantization_settings, _one_step_per_call_when_mirrored]


def _build_fields() -> dict[str, FieldSpec]:
    out = {}
    for f in dataclasses.fields(ExperimentConfig):
        out[f.name] = FieldSpec(name=f.name, **f.metadata["spec"])
    return out


FIELDS: dict[str, FieldSpec] = _build_fields()
"""All config fields' metadata, in declaration order."""


def fields_in_group(group: str) -> list[FieldSpec]:
    """The fields of one group (``data``, ``model``, ``training`` or ``compression``)."""
    if group not in GROUPS:
        raise ConfigError("group", group, "one of: " + ", ".join(GROUPS))
    return [s for s in FIELDS.values() if s.group == group]
