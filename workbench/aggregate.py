"""Runs grouped by their settings, each metric as mean, standard deviation and count over seeds.

A benchmark sweeps settings (optimizer, schedule, learning rate...) times seeds; what it reports
is each setting's mean and spread over the seeds, and its rank. :func:`over_seeds` computes that
table from any run table (a sweep's ``results.csv``, ``wb.RunStore.table()``, a DataFrame of
``wb.run`` metrics); ``wb.report`` shows it when a sweep has a ``seed`` axis.

Example:
    >>> import pandas as pd
    >>> from workbench.aggregate import over_seeds
    >>> runs = pd.DataFrame({"optimizer": ["adam"] * 3 + ["sgd"] * 3, "seed": [0, 1, 2] * 2,
    ...                      "test_accuracy": [0.90, 0.92, 0.94, 0.80, 0.81, 0.82]})
    >>> t = over_seeds(runs, ["optimizer"], metrics=["test_accuracy"])
    >>> t[["optimizer", "seeds", "test_accuracy_mean", "test_accuracy_std", "rank"]].round(3)
      optimizer  seeds  test_accuracy_mean  test_accuracy_std  rank
    0      adam      3                0.92               0.02     1
    1       sgd      3                0.81               0.01     2
    >>> runs["problem"] = ["a", "a", "a", "b", "b", "b"]
    >>> over_seeds(runs, ["problem", "optimizer"], within=["problem"])["rank"].tolist()
    [1, 1]
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from workbench.exceptions import ConfigError
from workbench.metrics import METRICS

if TYPE_CHECKING:
    import pandas as pd


def over_seeds(table: pd.DataFrame, by: Sequence[str], *, seed: str = "seed",
               metrics: Sequence[str] | None = None, rank_by: str = "test_accuracy",
               within: Sequence[str] = ()) -> pd.DataFrame:
    """One row per combination of ``by``: ``seeds`` (how many runs), then ``<metric>_mean`` and
    ``<metric>_std`` (sample standard deviation; NaN for a single seed) of each metric, and
    ``rank`` (1 = best mean of ``rank_by``, in the direction :data:`METRICS` gives it).

    ``within`` (some of ``by``) ranks inside each of their combinations instead: a benchmark
    over several problems ranks the settings on each problem, since accuracies on different
    data sets do not compare.

    ``metrics`` defaults to the numeric columns that are metrics (:data:`METRICS`). Rows whose
    metric is missing (a failed run) are left out of that metric's statistics, not counted
    as zero.
    """
    import pandas as pd

    by, within = list(by), list(within)
    for name in within:
        if name not in by:
            raise ConfigError("within", name, "one of the grouping columns: " + ", ".join(by))
    for name in [*by, seed]:
        if name not in table.columns:
            raise ConfigError("by" if name in by else "seed", name, "a column of the run "
                              "table: " + ", ".join(map(str, table.columns)))
    if metrics is None:
        metrics = [c for c in table.columns if c in METRICS and c not in by
                   and pd.api.types.is_numeric_dtype(table[c])]
    groups = table.groupby(by, dropna=False, sort=False) if by else [((), table)]
    rows = []
    for key, part in groups:
        key = key if isinstance(key, tuple) else (key,)
        row = {**dict(zip(by, key, strict=True)), "seeds": int(part[seed].nunique())}
        for m in metrics:
            values = pd.to_numeric(part[m], errors="coerce").dropna()
            row[f"{m}_mean"] = float(values.mean()) if len(values) else float("nan")
            row[f"{m}_std"] = float(values.std(ddof=1)) if len(values) > 1 else float("nan")
        rows.append(row)
    out = pd.DataFrame(rows)
    key = f"{rank_by}_mean"
    if key in out:
        ascending = METRICS[rank_by].direction == "min" if rank_by in METRICS else False
        ranked = out.groupby(within, dropna=False, sort=False)[key] if within else out[key]
        out["rank"] = ranked.rank(ascending=ascending, method="min").astype("Int64")
        out = out.sort_values([*within, "rank", *by], na_position="last").reset_index(drop=True)
    return out
