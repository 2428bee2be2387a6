"""The search-space DSL: config fields mapped to lists of values or ranges.

Each entry is checked by its field's own spec, so a bad range names the field and what it
allows before any trial runs.

Example:
    >>> import workbench as wb
    >>> s = wb.SearchSpace({"optimizer": ["adam", "sgd"], "prune_ratio": wb.uniform(0, 0.9)})
    >>> sorted(s.params)
    ['optimizer', 'prune_ratio']
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from workbench.config import FIELDS
from workbench.exceptions import ConfigError, UnknownFieldError, did_you_mean


@dataclass(frozen=True)
class Uniform:
    """A float range ``[low, high]`` (``log=True``: sampled on a log scale)."""

    low: float
    high: float
    log: bool = False


@dataclass(frozen=True)
class IntRange:
    """An integer range ``[low, high]`` with a ``step``."""

    low: int
    high: int
    step: int = 1


def uniform(low: float, high: float) -> Uniform:
    """A float range for a search space.

    Example:
        >>> import workbench as wb
        >>> wb.uniform(0, 0.95)
        Uniform(low=0, high=0.95, log=False)
    """
    return Uniform(low, high)


def loguniform(low: float, high: float) -> Uniform:
    """A float range sampled on a log scale (both bounds > 0).

    Example:
        >>> import workbench as wb
        >>> wb.loguniform(1e-4, 1e-1).log
        True
    """
    return Uniform(low, high, log=True)


def intrange(low: int, high: int, step: int = 1) -> IntRange:
    """An integer range for a search space.

    Example:
        >>> import workbench as wb
        >>> wb.intrange(2, 20, 2)
        IntRange(low=2, high=20, step=2)
    """
    return IntRange(low, high, step)


class SearchSpace:
    """What a search may change: config field -> list of values, or a range.

    Lists are categorical (any field); ranges (:func:`uniform`, :func:`loguniform`,
    :func:`intrange`) are for numeric fields without fixed choices. Every value is checked like
    ExperimentConfig checks it.

    Example:
        >>> import workbench as wb
        >>> space = wb.SearchSpace({"optimizer": ["adam", "sgd"],
        ...                         "learning_rate": wb.loguniform(1e-4, 1e-1),
        ...                         "hidden_units": [[64], [128, 64]]})
        >>> sorted(space.names)
        ['hidden_units', 'learning_rate', 'optimizer']
    """

    def __init__(self, space: Mapping[str, Any]) -> None:
        if not isinstance(space, Mapping) or not space:
            raise ConfigError("space", space, "a non-empty mapping of config fields to a list "
                              "of values or a range")
        self.params: dict[str, Any] = {}
        for name, dist in space.items():
            if name not in FIELDS:
                raise UnknownFieldError(
                    name, message=f"search space: unknown config field {name!r}"
                    f"{did_you_mean(name, FIELDS)}; valid fields: {', '.join(FIELDS)}")
            self.params[name] = _check_dist(name, dist)

    @property
    def names(self) -> list[str]:
        return list(self.params)

    @classmethod
    def from_yaml(cls, source: str | Path) -> SearchSpace:
        """Read ``name: [values]`` or ``name: {uniform|loguniform|int: [low, high]}`` YAML."""
        import yaml

        text = Path(source).read_text() if isinstance(source, Path) or (
            isinstance(source, str) and "\n" not in source and source.endswith(
                (".yaml", ".yml"))) else source
        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as e:
            raise ConfigError("space", str(source), f"valid YAML ({e})") from None
        if not isinstance(data, dict):
            raise ConfigError("space", data, "a YAML mapping of config fields")
        out = {}
        for name, v in data.items():
            if isinstance(v, dict) and len(v) == 1:
                (kind, bounds), = v.items()
                makers = {"uniform": uniform, "loguniform": loguniform, "int": intrange}
                if kind not in makers or not isinstance(bounds, list) or len(bounds) not in (2, 3):
                    raise ConfigError(name, v, "a list of values, or {uniform|loguniform|int: "
                                      "[low, high]}")
                out[name] = makers[kind](*bounds)
            else:
                out[name] = v
        return cls(out)

    def grid(self) -> dict[str, list[Any]]:
        """The grid of every categorical field (ranges cannot be searched exhaustively)."""
        for name, d in self.params.items():
            if not isinstance(d, list):
                raise ConfigError(name, d, "a list of values with sampler='grid' (a range has "
                                  "no finite grid)")
        return {n: [encode(v) for v in d] for n, d in self.params.items()}


def _check_dist(name: str, dist: Any) -> Any:
    spec = FIELDS[name]
    if isinstance(dist, Uniform | IntRange):
        if spec.choices is not None or spec.kind not in ("int", "float"):
            raise ConfigError(name, dist, f"a list of values (it is a {spec.kind} field"
                              + (" with fixed choices" if spec.choices else "") + ")")
        if not dist.low < dist.high:
            raise ConfigError(name, dist, "a range with low < high")
        if isinstance(dist, Uniform) and dist.log and dist.low <= 0:
            raise ConfigError(name, dist, "a log range with both bounds > 0")
        if spec.kind == "int" and isinstance(dist, Uniform):
            raise ConfigError(name, dist, "an integer range (wb.intrange) or a list")
        for bound in (dist.low, dist.high):
            spec.check(bound)
        return dist
    if isinstance(dist, list | tuple) and dist:
        return [spec.check(v) for v in dist]
    raise ConfigError(name, dist, "a non-empty list of values or a range (wb.uniform, "
                      "wb.loguniform, wb.intrange)")


def encode(v: Any) -> Any:
    """Optuna categorical choices must be primitives: lists travel as JSON text."""
    return json.dumps(list(v)) if isinstance(v, tuple | list) else v


def decode(name: str, v: Any) -> Any:
    return json.loads(v) if FIELDS[name].kind in ("int_list", "str_list") else v
