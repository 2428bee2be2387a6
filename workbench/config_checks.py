"""What the config checks beyond each field on its own: the cross-field rules, and config files.

``ExperimentConfig`` runs the rules, in order, after every field has passed its own check; each
raises ConfigError naming the field to change. ``load_config_file`` reads a JSON/YAML file,
with a ConfigError for every way it can be malformed.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from workbench.exceptions import ConfigError

#: what a rule reads: an ``ExperimentConfig`` (not imported here: the config imports this module)
Config = Any


def load_config_file(path: str | Path) -> dict[str, Any]:
    """Read a JSON/YAML file into a dict, with a ConfigError for every way it can be wrong."""
    p = Path(path)
    if not p.is_file():
        raise ConfigError("config", str(path), message=f"config file {str(path)!r} does not exist")
    syntax = "YAML" if p.suffix.lower() in (".yaml", ".yml") else "JSON"
    data = parse_text(p.read_text(), syntax, f"in {str(path)!r}", str(path))
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError("config", str(path), message=f"config file {str(path)!r} must hold a "
                          f"mapping of field names to values, not {type(data).__name__}")
    return data


def parse_text(text: str, syntax: str, where: str, path: str | None) -> Any:
    """JSON or YAML text as data, or a ConfigError saying what is malformed where."""
    import yaml

    try:
        return yaml.safe_load(text) if syntax == "YAML" else json.loads(text)
    except (yaml.YAMLError, json.JSONDecodeError) as e:
        raise ConfigError("config" if path else None, path,
                          message=f"malformed {syntax} {where}: {e}") from None


def _warmup_shorter_than_training(c: Config) -> None:
    if c.warmup_epochs and c.warmup_epochs >= c.epochs:
        raise ConfigError("warmup_epochs", c.warmup_epochs,
                          f"an integer >= 0 and < epochs ({c.epochs})")


def _plateau_without_warmup(c: Config) -> None:
    if c.lr_schedule == "plateau" and c.warmup_epochs:
        raise ConfigError("warmup_epochs", c.warmup_epochs,
                          "0 with lr_schedule='plateau' (plateau adapts the rate from the "
                          "validation loss and has no warm-up)")


def _compression_only(c: Config) -> None:
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


def _prune_window(c: Config) -> None:
    if c.prune_layer_ratios and c.prune_structure != "unstructured":
        raise ConfigError("prune_layer_ratios", dict(c.prune_layer_ratios), "None with "
                          "prune_structure='units' (per-layer ratios prune single weights)")
    if c.prunes and c.prune_schedule == "polynomial" and c.prune_begin >= c.prune_end:
        raise ConfigError("prune_begin", c.prune_begin,
                          f"a fraction < prune_end ({c.prune_end}) with the polynomial schedule")


def _quantization_settings(c: Config) -> None:
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


def _one_step_per_call_when_mirrored(c: Config) -> None:
    if c.strategy != "default" and c.steps_per_execution > 1:
        raise ConfigError("steps_per_execution", c.steps_per_execution,
                          f"0 (auto) or 1 with strategy={c.strategy!r} (Keras 3.15 fails to "
                          "run several steps per call under MirroredStrategy)")


CROSS_FIELD_RULES: list[Callable[[Config], None]] = [
    _warmup_shorter_than_training, _plateau_without_warmup, _compression_only, _prune_window,
    _quantization_settings, _one_step_per_call_when_mirrored]
