"""`FieldSpec`: the metadata of one option, from which flags, controls and checks are made.

A leaf module: it imports nothing of the workbench but its exceptions, so that the config,
the compression functions, the teaching tools and the Playground can all describe their
options the same way, and :func:`workbench.widgets.controls.make_control` can render any of
them.

Example:
    >>> from workbench.fields import FieldSpec
    >>> bits = FieldSpec("bits", "int", 8, "Weight bit-width.", "compression", low=2, high=8)
    >>> bits.check(4), bits.describe_allowed()
    (4, 'an integer >= 2 and <= 8')
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from workbench.exceptions import ConfigError, did_you_mean


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
        >>> FIELDS["learning_rate"].group, FIELDS["learning_rate"].flag
        ('training', '--learning-rate')
    """

    name: str
    kind: str
    default: Any
    help: str
    group: str
    choices: Sequence[Any] | None = None
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
    #: a field whose value may also be other than its choices (``dataset`` takes a path):
    #: ``open_check(value)`` returns it checked or raises ConfigError; ``also`` says what else
    open_check: Callable[[Any], Any] | None = field(default=None, compare=False, repr=False)
    also: str = ""

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
            if self.also:
                text += "; or " + self.also
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
        if self.open_check is not None:
            return self.open_check(value)
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

    def require(self, value: Any) -> Any:
        """:meth:`check`, with None refused even for an optional field (a function argument
        that must be given, such as ``quantize(model, bits)``'s ``bits``).

        Example:
            >>> from workbench.config import FIELDS
            >>> FIELDS["quant_bits"].check(None) is None, FIELDS["quant_bits"].require(4)
            (True, 4)
        """
        if value is None:
            raise ConfigError(self.name, value, self.describe_allowed().removesuffix(", or None"))
        return self.check(value)

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

    def plain(self, value: Any) -> Any:
        """A checked value as JSON primitives (tuples back to lists, pairs back to a dict)."""
        if self.kind == "ratio_map" and value is not None:
            return dict(value)
        return list(value) if isinstance(value, tuple) else value

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


def _is_int(v: Any) -> bool:
    if isinstance(v, bool):
        return False
    if isinstance(v, int):
        return True
    return isinstance(v, float) and v.is_integer()


def _fmt(x: float) -> str:
    return str(int(x)) if float(x).is_integer() and abs(x) < 1e15 else repr(x)


class live_names(Sequence[str]):
    """The keys of a registry, read at each use: the ``choices`` of a field whose registry
    grows at run time (``wb.register_dataset``), so every surface sees the new names.

    Example:
        >>> from workbench.fields import live_names
        >>> table = {"a": 1}
        >>> names = live_names(table); table["b"] = 2
        >>> names == ("a", "b"), list(names)
        (True, ['a', 'b'])
    """

    def __init__(self, table: Mapping[str, Any]) -> None:
        self._table = table

    def __getitem__(self, i: Any) -> Any:
        return tuple(self._table)[i]

    def __len__(self) -> int:
        return len(self._table)

    def __iter__(self) -> Iterator[str]:
        return iter(tuple(self._table))

    def __contains__(self, value: object) -> bool:
        return value in self._table

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Sequence) and tuple(self) == tuple(other)

    __hash__ = object.__hash__

    def __repr__(self) -> str:
        return repr(tuple(self))


class GivenFields:
    """A dataclass base that remembers which fields the caller set (:attr:`given`): the
    constructor's arguments, and what :meth:`mark_given` adds.

    Example:
        >>> import workbench as wb
        >>> sorted(wb.ExperimentConfig(model="mlp", epochs=3).given)
        ['epochs', 'model']
    """

    def __new__(cls, *args: Any, **kwargs: Any) -> Any:
        self = super().__new__(cls)
        names = list(getattr(cls, "__dataclass_fields__", {}))  # in declaration order
        object.__setattr__(self, "_given", frozenset(names[:len(args)]) | frozenset(kwargs))
        return self

    @property
    def given(self) -> frozenset[str]:
        """The fields set by the caller (a dict's values equal to the default do not count:
        a file or a notebook's parameters list every field)."""
        return getattr(self, "_given", frozenset())

    def mark_given(self, names: frozenset[str]) -> None:
        object.__setattr__(self, "_given", frozenset(names))
