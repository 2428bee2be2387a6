"""Names for runs that say what differs between them ("prune 0.9 · 4 bit"), not their ids.

Example:
    >>> from workbench.naming import run_names
    >>> run_names([{"prune_ratio": 0.5, "quant_bits": 8, "epochs": 5},
    ...            {"prune_ratio": 0.9, "quant_bits": 4, "epochs": 5}])
    ['prune 0.5 · 8 bit', 'prune 0.9 · 4 bit']
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

_SHORT = {
    "prune_ratio": "prune {v:g}", "quant_bits": "{v} bit", "quant_bits_conv": "conv {v} bit",
    "cluster_k": "{v} clusters", "learning_rate": "lr {v:g}", "batch_size": "batch {v}",
    "epochs": "{v} epochs", "seed": "seed {v}", "warmup_epochs": "warm-up {v}",
    "prune_scope": "{v} pruning", "quant_granularity": "{v}", "quant_mode": "{v}",
    "weight_decay": "wd {v:g}", "momentum": "momentum {v:g}", "hidden_units": "{v}",
    "distill_alpha": "alpha {v:g}", "distill_temperature": "T {v:g}",
    "dense_epochs": "{v} dense epochs",
}
_NONE = {"quant_bits": "float32", "quant_bits_conv": "conv as the rest",
         "cluster_k": "no clustering", "learning_rate": "default lr",
         "distill_teacher": "no teacher", "init_from": "from scratch"}
_IGNORED = {"output_dir", "run_name", "run", "run_id"}


def describe(name: str, value: Any) -> str:
    """One parameter as a run name shows it: ``prune 0.9``, ``4 bit``, ``adam``."""
    if value is None:
        return _NONE.get(name, f"{name} none")
    if isinstance(value, list | tuple):
        value = ",".join(str(v) for v in value)
    fmt = _SHORT.get(name)
    if fmt is None:
        return str(value) if isinstance(value, str) else f"{name} {value}"
    try:
        return fmt.format(v=value)
    except (ValueError, TypeError):
        return fmt.replace(":g", "").format(v=value)


def differing(rows: Sequence[Mapping[str, Any]]) -> list[str]:
    """The keys whose values are not the same in every row, in first-seen order."""
    keys = list(dict.fromkeys(k for r in rows for k in r if k not in _IGNORED))
    return [k for k in keys
            if len({json.dumps(r.get(k), sort_keys=True, default=str) for r in rows}) > 1]


def run_names(rows: Sequence[Mapping[str, Any]], keys: Sequence[str] | None = None,
              fallback: Sequence[str] | None = None) -> list[str]:
    """A readable name per row of parameters, from the keys that differ between the rows.

    ``keys`` fixes which parameters to use; ``fallback`` (e.g. the run ids) names rows that
    would otherwise be empty or repeated.
    """
    keys = list(keys) if keys is not None else differing(rows)
    names = [" · ".join(describe(k, r.get(k)) for k in keys if k in r) for r in rows]
    if fallback is not None:
        seen: dict[str, int] = {}
        for n in names:
            seen[n] = seen.get(n, 0) + 1
        names = [n if n and seen[n] == 1 else f"{n} ({f})".strip() if n else str(f)
                 for n, f in zip(names, fallback, strict=True)]
    return names
