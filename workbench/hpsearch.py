"""Search over ExperimentConfig fields with Optuna: grid, random, TPE, GP, CMA-ES and NSGA-II.

Every trial is an ordinary ``wb.run`` recorded in the RunStore (its run id is kept as the trial's
``run_id`` attribute), so the panel, the comparison view and the reports see it. With one
objective, poor trials stop early (Optuna's median pruner, fed the validation accuracy at each
epoch end); with several, the result is a Pareto front.
"""

from __future__ import annotations

import math
import os
import socket
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from workbench.config import ExperimentConfig
from workbench.exceptions import ConfigError, WorkbenchError, did_you_mean
from workbench.metrics import METRICS, OBJECTIVE_METRICS
from workbench.search_space import (
    IntRange,
    SearchSpace,
    decode,
    encode,
)
from workbench.search_storage import DEFAULT_STORAGE, open_study, process_seed, storage_url


def parse_objectives(objectives: Sequence[str] | str) -> list[tuple[str, str]]:
    """``["test_accuracy:max", ...]`` -> ``[("test_accuracy", "maximize"), ...]``.

    Example:
        >>> from workbench.hpsearch import parse_objectives
        >>> parse_objectives(["test_accuracy:max", "size_bytes_packed:min"])
        [('test_accuracy', 'maximize'), ('size_bytes_packed', 'minimize')]
        >>> parse_objectives("test_loss")   # the direction a metric has is implied
        [('test_loss', 'minimize')]
    """
    if isinstance(objectives, str):
        objectives = [objectives]
    if not objectives:
        raise ConfigError("objectives", objectives, "at least one METRIC:max|min")
    out = []
    for item in objectives:
        metric, _, direction = str(item).partition(":")
        if metric not in OBJECTIVE_METRICS:
            raise ConfigError("objective", item, "METRIC:max|min with METRIC one of: "
                              + ", ".join(OBJECTIVE_METRICS)
                              + did_you_mean(metric, OBJECTIVE_METRICS))
        direction = direction or METRICS[metric].direction  # better is implied, as Keras does
        d = {"max": "maximize", "maximize": "maximize", "min": "minimize",
             "minimize": "minimize"}.get(direction)
        if d is None:
            raise ConfigError("objective", item, f"{metric}:max or {metric}:min (which way "
                              "is better is not implied for it)")
        out.append((metric, d))
    return out


@dataclass(frozen=True)
class SamplerInfo:
    """One Optuna sampler the search accepts: how to make it, and what it can optimize.

    Example:
        >>> from workbench.hpsearch import SAMPLERS
        >>> SAMPLERS["nsga2"].multi_objective, SAMPLERS["cmaes"].multi_objective
        (True, False)
    """

    name: str
    description: str
    make: Callable[[Any, SearchSpace, int], Any] = field(repr=False, compare=False)
    multi_objective: bool = False


def _gp(optuna: Any, space: SearchSpace, seed: int) -> Any:
    import importlib.util

    if importlib.util.find_spec("torch") is None:  # Optuna's GPSampler needs PyTorch
        raise ConfigError("sampler", "gp", "available only with PyTorch installed "
                          "(pip install torch); use 'tpe' for Bayesian optimization "
                          "without it")
    return optuna.samplers.GPSampler(seed=seed)


#: The samplers, by name. Adding one is one entry here, plus its test; the CLI's choices, the
#: SearchView's dropdown and the error messages read this table.
SAMPLERS: dict[str, SamplerInfo] = {s.name: s for s in (
    SamplerInfo("grid", "every combination of the listed values",
                lambda o, space, seed: o.samplers.GridSampler(space.grid(), seed=seed), True),
    SamplerInfo("random", "independent uniform draws",
                lambda o, space, seed: o.samplers.RandomSampler(seed=seed), True),
    SamplerInfo("tpe", "Bayesian: tree-structured Parzen estimators (multivariate)",
                lambda o, space, seed: o.samplers.TPESampler(seed=seed, multivariate=True),
                True),
    SamplerInfo("gp", "Bayesian: a Gaussian process (needs PyTorch)", _gp),
    SamplerInfo("cmaes", "evolutionary: CMA-ES",
                lambda o, space, seed: o.samplers.CmaEsSampler(
                    seed=seed, warn_independent_sampling=False)),
    SamplerInfo("nsga2", "evolutionary, multi-objective: NSGA-II",
                lambda o, space, seed: o.samplers.NSGAIISampler(seed=seed, population_size=8),
                True),
)}

#: The objectives a search optimizes when none are given: accuracy up, packed size down.
DEFAULT_OBJECTIVES = ("test_accuracy:max", "size_bytes_packed:min")


def _sampler(name: str, space: SearchSpace, seed: int, n_objectives: int) -> Any:
    import optuna

    if name not in SAMPLERS:
        raise ConfigError("sampler", name, "one of: " + ", ".join(SAMPLERS)
                          + did_you_mean(name, SAMPLERS))
    info = SAMPLERS[name]
    if n_objectives > 1 and not info.multi_objective:
        multi = [repr(n) for n, s in SAMPLERS.items() if s.multi_objective]
        raise ConfigError("sampler", name, f"{', '.join(multi)} with {n_objectives} "
                          f"objectives ({name} optimizes one)")
    return info.make(optuna, space, seed)


@dataclass
class SearchResult:
    """A finished (or interrupted) search: the Optuna study and its trials as a table."""

    study: Any
    objectives: list[tuple[str, str]]

    def table(self) -> Any:
        """One row per trial, from the study itself (so every worker's trials, from every
        machine): number, state, parameters, objective values, the run's other searchable
        metrics, its run id and the host that ran it (its run folder is on that host)."""
        import pandas as pd

        rows = []
        for t in self.study.trials:
            row = {"trial": t.number, "state": t.state.name,
                   "run_id": t.user_attrs.get("run_id"), "host": t.user_attrs.get("host")}
            row.update({k: decode(k, v) for k, v in t.params.items()})
            values = t.values or [None] * len(self.objectives)
            row.update({m: v for (m, _), v in zip(self.objectives, values, strict=True)})
            row.update({k: v for k, v in t.user_attrs.get("metrics", {}).items()
                        if k not in row})
            rows.append(row)
        return pd.DataFrame(rows)

    def pareto(self) -> Any:
        """The non-dominated completed trials (the best one with a single objective).

        Trials that proposed the same point and got the same values are one row (the first
        trial); its ``duplicates`` column counts the others.
        """
        best = {t.number for t in self.study.best_trials}
        df = self.table()
        df = df[df.trial.isin(best)]
        params = {k for t in self.study.trials for k in t.params}
        key = [c for c in df.columns if c in params or c in dict(self.objectives)]
        if df.empty:
            return df.assign(duplicates=[]).reset_index(drop=True)
        sig = df[key].apply(lambda row: "|".join(map(repr, row)), axis=1)
        counts = sig.map(sig.value_counts())
        return (df.assign(duplicates=counts - 1)[~sig.duplicated()]
                .reset_index(drop=True))

    def figures(self) -> dict[str, Any]:
        """Optimization history, Pareto front (2 objectives), importance, parallel coordinates."""
        import optuna.visualization as ov

        from workbench import figures

        out = {}
        done = self.table()
        done = done[done.state == "COMPLETE"]
        names = [m for m, _ in self.objectives]
        if len(names) == 1:
            out["history"] = ov.plot_optimization_history(self.study, target_name=names[0])
        elif len(names) == 2 and len(done):
            size = [m for m in names if m.startswith("size") or m == "params"]
            acc = [m for m in names if m not in size]
            if size and acc:
                out["pareto"] = figures.pareto(done, x=size[0], y=acc[0], label="run_id")
        if len(done) >= 3 and len(self.study.best_trials):
            import warnings

            from optuna.importance import FanovaImportanceEvaluator

            for i, name in enumerate(names):
                try:
                    with warnings.catch_warnings():
                        warnings.simplefilter("ignore")
                        out[f"importance_{name}"] = ov.plot_param_importances(
                            self.study, evaluator=FanovaImportanceEvaluator(seed=0),
                            target=lambda t, i=i: t.values[i], target_name=name)
                except Exception:  # too few distinct trials for an importance estimate
                    pass
            out["parallel"] = ov.plot_parallel_coordinate(
                self.study, target=lambda t: t.values[0], target_name=names[0])
        return out


def _data_tag(cfg: ExperimentConfig) -> str:
    """For a data set named by a path or callable, a short hash of the whole name: two files
    called ``fashion.npz`` in two folders never share a default study."""
    import hashlib

    from workbench.data import DATASETS

    if cfg.dataset in DATASETS:
        return ""
    return "-" + hashlib.blake2b(cfg.dataset.encode(), digest_size=3).hexdigest()


def search(base_config: ExperimentConfig | Mapping[str, Any] | None,
           space: SearchSpace | Mapping[str, Any],
           objectives: Sequence[str] | str = DEFAULT_OBJECTIVES,
           sampler: str = "tpe", n_trials: int = 20, timeout: float | None = None,
           storage: str | None = DEFAULT_STORAGE, study_name: str | None = None,
           store: Any = "runs", seed: int = 0, prune: bool = True,
           progress: bool = True, stop: Any = None,
           on_trial: Any = None) -> SearchResult:
    """Search ``space`` around ``base_config`` for the best runs.

    Args:
        base_config: the fixed settings; each trial replaces the space's fields.
        space: a :class:`SearchSpace` or the mapping to build one.
        objectives: ``METRIC:max|min`` strings; two or more give a Pareto front.
        sampler: ``grid``, ``random``, ``tpe`` (Bayesian), ``gp`` (Gaussian process; needs
            PyTorch), ``cmaes`` or ``nsga2`` (evolutionary).
        n_trials / timeout: the budget (this call's; a resumed study keeps its old trials).
        storage: an Optuna storage URL (see :mod:`workbench.search_storage`); the same URL
            and ``study_name`` resume a study, and several processes can work on it at once:
            each draws its own sampler seed from ``seed`` (recorded in the study), and a trial
            whose worker died is failed and re-run. Left at its default, the URL in
            ``$WORKBENCH_STORAGE`` is used when set. None (or ``"none"``) = in memory, where
            ``seed`` is used as it is.
        store: the RunStore (or folder) where every trial's run is recorded.
        prune: with one objective, stop poor trials early (median pruner on val accuracy).
        stop: a ``threading.Event``; once set, no new trial starts (the running one finishes).
        on_trial: called with each finished Optuna trial (e.g. to refresh a view).

    A trial whose run fails or diverges is recorded as failed and the search goes on.

    Example:
        >>> import workbench as wb
        >>> res = wb.search(wb.ExperimentConfig(epochs=3),
        ...                 {"optimizer": ["adam", "sgd"], "prune_ratio": wb.uniform(0, 0.9)},
        ...                 sampler="nsga2", n_trials=8)                     # doctest: +SKIP
        >>> res.pareto()                                                      # doctest: +SKIP
    """
    import optuna

    from workbench.runs import RunStore
    from workbench.training.experiment import _coerce_config

    base = _coerce_config(base_config)
    space = space if isinstance(space, SearchSpace) else SearchSpace(space)
    objs = parse_objectives(objectives)
    if isinstance(n_trials, bool) or not isinstance(n_trials, int) or n_trials < 1:
        raise ConfigError("n_trials", n_trials, "an integer >= 1")
    url = None if storage is None else storage_url(None if storage == DEFAULT_STORAGE
                                                   else storage)  # the default: $env first
    sampler_seed = process_seed(seed) if url else seed  # shared studies: a seed per worker
    smp = _sampler(sampler, space, sampler_seed, len(objs))
    for name, d in space.params.items():  # every categorical value must combine with base
        if isinstance(d, list):
            for v in d:
                base.replace(**{name: v})
    run_store = store if isinstance(store, RunStore) else RunStore(store)
    # early stopping reports validation accuracy: only meaningful for an accuracy objective
    prune = prune and len(objs) == 1 and objs[0] in (("test_accuracy", "maximize"),
                                                      ("packed_accuracy", "maximize"))
    pruner = (optuna.pruners.MedianPruner(n_startup_trials=3, n_warmup_steps=1)
              if prune else optuna.pruners.NopPruner())
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    name = study_name or f"{base.label}{_data_tag(base)}-{sampler}-" + "-".join(
        m for m, _ in objs)
    study = open_study(url, name, [d for _, d in objs], smp, pruner)
    if url:
        study.set_user_attr(f"sampler_seed:{socket.gethostname()}:{os.getpid()}", sampler_seed)

    def objective(trial: Any) -> Any:
        from workbench.exceptions import RunFailed
        from workbench.training.experiment import run

        params = {}
        for pname, d in space.params.items():
            if isinstance(d, list):
                params[pname] = decode(pname, trial.suggest_categorical(
                    pname, [encode(v) for v in d]))
            elif isinstance(d, IntRange):
                params[pname] = trial.suggest_int(pname, d.low, d.high, step=d.step)
            else:
                params[pname] = trial.suggest_float(pname, d.low, d.high, log=d.log)
        try:
            cfg = base.replace(**params, run_name=f"{name}-t{trial.number}")
        except ConfigError as e:  # an impossible combination is a failed trial, not a crash
            trial.set_user_attr("error", str(e))
            raise
        from workbench.callbacks.trial_pruning import TrialPruning

        callbacks = [TrialPruning(trial)] if prune else []
        try:
            result = run(cfg, store=run_store, verbose=False, callbacks=callbacks)
        except RunFailed as e:
            trial.set_user_attr("run_id", e.result.run_id if e.result else None)
            raise
        trial.set_user_attr("run_id", result.run_id)
        trial.set_user_attr("host", socket.gethostname())
        trial.set_user_attr("metrics", {k: result.metrics[k] for k in OBJECTIVE_METRICS
                                        if isinstance(result.metrics.get(k), int | float)
                                        and math.isfinite(result.metrics[k])})
        if callbacks and callbacks[0].pruned:
            raise optuna.TrialPruned(f"stopped at epoch {callbacks[0].pruned}")
        if result.status != "completed":
            raise WorkbenchError(f"trial run {result.run_id} {result.status}")
        values = [result.metrics.get(m) for m, _ in objs]
        if any(v is None or not math.isfinite(v) for v in values):
            raise WorkbenchError(f"trial run {result.run_id} has no finite {objs}")
        return values[0] if len(values) == 1 else values

    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=n_trials, desc=f"search ({sampler})", unit="trial")
    def after_trial(st: Any, trial: Any) -> None:
        if bar is not None:
            bar.update(1)
        if on_trial is not None:
            on_trial(trial)
        if stop is not None and stop.is_set():
            st.stop()

    cbs = [after_trial]
    try:
        study.optimize(objective, n_trials=n_trials, timeout=timeout, catch=(Exception,),
                       callbacks=cbs, gc_after_trial=True)
    finally:
        if bar is not None:
            bar.close()
    return SearchResult(study, objs)


