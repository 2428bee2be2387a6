"""Sweeps: a grid of parameter sets, run on a local pool or a Dask cluster, collected."""


from __future__ import annotations

import itertools
import json
import math
import os
import signal
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from workbench._io import atomic_write_json
from workbench.exceptions import ConfigError
from workbench.notebooks._workers import main_not_reimported, run_one, worker_init
from workbench.notebooks.execute import RESULTS_FILE, STATUS_FILE
from workbench.notebooks.params import check_parameters, notebook_parameters, param_hash


def expand_grid(grid: Mapping[str, Iterable[Any]]) -> list[dict[str, Any]]:
    """Every combination of a grid, in order.

    Example:
        >>> from workbench.notebooks import expand_grid
        >>> expand_grid({"prune_ratio": [0, 0.5], "quant_bits": [8, 4]})[1]
        {'prune_ratio': 0, 'quant_bits': 4}
    """
    names = list(grid)
    values = [list(v) if isinstance(v, list | tuple) else [v] for v in grid.values()]
    return [dict(zip(names, combo, strict=True)) for combo in itertools.product(*values)]


def _absolute_paths(params: dict[str, Any]) -> dict[str, Any]:
    out = dict(params)
    for field in ("dataset", "model"):
        value = out.get(field)
        if isinstance(value, str) and ":" not in value and Path(value).exists():
            out[field] = os.path.abspath(value)  # as named: a link is not followed
    return out


def sweep(notebook: str | Path, grid: Mapping[str, Iterable[Any]] | None = None,
          output_dir: str | Path = "sweeps/sweep", *, runs: list[dict[str, Any]] | None = None,
          workers: int = 2, executor: str = "local", scheduler: str | None = None,
          resume: bool = True, timeout: float | None = None, progress: bool = True,
          max_return_mb: float = 200.0, max_data_mb: float = 500.0) -> Any:
    """Run a notebook for every parameter combination, in parallel; return the results table.

    Args:
        notebook: the parameterized notebook.
        grid: ``{name: [values]}``; every combination runs. Or give ``runs``, a list of dicts.
        output_dir: one sub-folder per run, named by :func:`param_hash` of its parameters, and
            ``results.csv`` (one row per run: parameters, status, the notebook's results).
        workers: parallel notebooks (worker processes, or Dask workers of a LocalCluster).
        executor: ``local`` (a process pool) or ``dask``: ``scheduler="tcp://host:8786"``
            (default: ``$WORKBENCH_SCHEDULER``; without either, a LocalCluster of ``workers``
            processes on 127.0.0.1). Dask workers need no shared disk: each gets the notebook
            and its parameters and sends its run folder back (see
            :mod:`workbench.notebooks.remote`).
        resume: skip runs already completed in ``output_dir``; rerun failed or missing ones.
        max_return_mb: with ``dask``, the most one run folder may send back; a larger one is
            ``failed`` with its size in the error (its status and results still come back).
        max_data_mb: with ``dask``, the most a data file or folder (or ``.keras`` model) that
            ``dataset``/``model`` names may weigh: it travels to the workers, which share no
            disk; a larger one is a ConfigError naming it, before any run starts.

    A relative ``dataset`` or ``model`` path is made absolute here, so every run (whatever
    folder its notebook runs in) reads the same file.

    A failing run does not stop the others: it is listed with its cell and error and its
    annotated notebook is kept. Ctrl-C stops the sweep and keeps what completed.

    Example:
        >>> import workbench as wb
        >>> df = wb.sweep("notebooks/05_compression_pipeline.ipynb",
        ...               {"prune_ratio": [0, 0.5, 0.9], "quant_bits": [8, 4]},
        ...               "sweeps/demo", workers=2)                            # doctest: +SKIP
    """
    import pandas as pd

    if executor not in ("local", "dask"):
        raise ConfigError("executor", executor, "one of: local, dask")
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise ConfigError("workers", workers, "an integer >= 1")
    if (grid is None) == (runs is None):
        raise ConfigError("grid", grid, "a grid {name: [values]} or runs=[{...}], not both "
                          "or neither")
    param_sets = [_absolute_paths(p) for p in
                  (expand_grid(grid) if grid is not None else [dict(r) for r in runs or []])]
    if not param_sets:
        raise ConfigError("grid", grid, "a grid with at least one value per name")
    nb_path = Path(notebook).resolve()
    declared = notebook_parameters(nb_path)
    checked = [check_parameters(nb_path, p) for p in param_sets]  # all before any kernel
    root = Path(output_dir).resolve()
    root.mkdir(parents=True, exist_ok=True)
    tasks, skipped = [], 0
    for params in checked:
        run_dir = root / param_hash(params)
        run_dir.mkdir(exist_ok=True)
        full = dict(params)
        if "output_dir" in declared:
            full["output_dir"] = str(run_dir)
        atomic_write_json(run_dir / "params.json", params)
        if resume and _status_of(run_dir) == "completed":
            skipped += 1
            continue
        (run_dir / STATUS_FILE).unlink(missing_ok=True)
        tasks.append((str(nb_path), full, str(run_dir), timeout))
    interrupted = False
    try:
        if tasks:
            if executor == "dask":
                from workbench.notebooks.remote import run_dask

                with _bar(len(checked), skipped, progress) as bar:
                    run_dask(tasks, workers, scheduler, bar, max_return_mb,
                             max_data_mb=max_data_mb)
            else:
                _run_local(tasks, workers, progress, skipped, len(checked))
    except KeyboardInterrupt:
        interrupted = True
        for _, _, out, _ in tasks:  # runs that never started (or never recorded an end)
            if _status_of(Path(out)) == "missing":
                atomic_write_json(Path(out) / STATUS_FILE, {
                    "status": "cancelled", "error": "the sweep was interrupted (Ctrl-C) "
                    "before this run ended; --resume runs it", "cell": None, "seconds": None})
    df = collect(root, [param_hash(p) for p in checked])
    df.to_csv(root / "results.csv", index=False)
    failed = df[df["status"] != "completed"] if len(df) else df
    if progress and len(failed):
        print(f"{len(failed)} of {len(df)} runs did not complete:")
        for _, row in failed.iterrows():
            where = f" (cell {int(row['cell'])})" if pd.notna(row.get("cell")) else ""
            print(f"  {row['run']}: {row['status']}{where}: {row.get('error') or ''}")
    if interrupted:
        raise KeyboardInterrupt(f"sweep interrupted; completed runs are kept in {root}")
    return df


def _status_of(run_dir: Path) -> str:
    try:
        return json.loads((run_dir / STATUS_FILE).read_text())["status"]
    except (OSError, ValueError, KeyError):
        return "missing"


def _bar(total: int, initial: int, progress: bool) -> Any:
    from tqdm.auto import tqdm

    return tqdm(total=total, initial=initial, disable=not progress, unit="run",
                desc="sweep", smoothing=0)


def _run_local(tasks: list[Any], workers: int, progress: bool, done: int, total: int) -> None:
    import multiprocessing as mp
    from concurrent.futures import ProcessPoolExecutor, as_completed

    ctx = mp.get_context("spawn")  # a clean interpreter per worker (no inherited TF state)
    pool = ProcessPoolExecutor(max_workers=min(workers, len(tasks)), mp_context=ctx,
                               initializer=worker_init)
    bar = _bar(total, done, progress)
    futures = []
    try:
        with main_not_reimported():  # the workers are started by the first submits
            futures = [pool.submit(run_one, t) for t in tasks]
        for f in as_completed(futures):
            row = f.result()
            bar.update(1)
            bar.set_postfix_str(row["status"])
    except KeyboardInterrupt:
        _stop_pool(pool, futures)
        raise
    finally:
        bar.close()
        pool.shutdown(wait=True, cancel_futures=True)


def _stop_pool(pool: Any, futures: list[Any], grace: float = 20.0) -> None:
    """Ctrl-C: cancel the queued runs, interrupt the running ones, end the workers.

    A terminal's Ctrl-C reaches the workers and their kernels already; a SIGINT sent to this
    process alone (``kill -INT``) does not, so each worker gets one. A worker then records its
    run as ``interrupted`` and returns; after ``grace`` seconds the rest are terminated.
    """
    from concurrent.futures import wait

    running = [f for f in futures if not f.cancel()]
    processes = list((getattr(pool, "_processes", None) or {}).values())
    for p in processes:
        if p.is_alive() and p.pid is not None:
            try:
                os.kill(p.pid, signal.SIGINT)
            except OSError:
                pass
    while True:  # a second Ctrl-C must not skip ending the workers
        try:
            wait(running, timeout=grace)
            break
        except KeyboardInterrupt:
            grace = 0.0
    for p in processes:
        if p.is_alive():
            p.terminate()


def collect(output_dir: str | Path, runs: list[str] | None = None) -> Any:
    """Gather a sweep folder's runs into a DataFrame: parameters, status, results."""
    import pandas as pd

    root = Path(output_dir)
    names = runs if runs is not None else sorted(
        p.name for p in root.iterdir() if (p / "params.json").exists())
    from workbench.runs import read_json_checked

    rows = []
    for name in names:
        d = root / name
        params, why = read_json_checked(d / "params.json")
        if not isinstance(params, dict):
            params, problems = {}, [why or "params.json: not a mapping"]
        else:
            problems = []
        status, why = read_json_checked(d / STATUS_FILE)
        if why or (status is not None and not isinstance(status, dict)):
            problems.append(why or f"{STATUS_FILE}: not a mapping")
        status = status if isinstance(status, dict) else {"status": "missing"}
        results, why = read_json_checked(d / RESULTS_FILE)
        if why or (results is not None and not isinstance(results, dict)):
            problems.append(why or f"{RESULTS_FILE}: not a mapping")
        results = results if isinstance(results, dict) else {}
        if problems:
            status = {**status, "status": "unreadable", "error": "; ".join(problems)}
        row = {"run": name, **{k: _cell(v) for k, v in params.items()},
               "status": status.get("status"), "error": status.get("error"),
               "cell": status.get("cell"), "seconds": status.get("seconds")}
        row.update({k: _cell(v) for k, v in results.items() if k not in row})
        rows.append(row)
    return pd.DataFrame(rows)


def _cell(v: Any) -> Any:
    if isinstance(v, list | dict):
        return json.dumps(v)
    if isinstance(v, float) and not math.isfinite(v):
        return None
    return v
