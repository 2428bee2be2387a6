"""Headless notebooks: run one parameterized notebook, or a sweep of them in parallel.

``run_notebook`` checks the parameters against the notebook's ``parameters`` cell and the
ExperimentConfig *before* any kernel starts (papermill only warns about unknown names), runs
papermill with plotly.js inlined in the outputs, and writes into its output folder: the executed
``notebook.ipynb``, ``notebook.html`` (inputs hidden), ``params.json``, ``status.json`` and
whatever results the notebook saves (:func:`save_results` -> ``results.json``).

``sweep`` runs every combination of a grid (or a list of parameter dicts) in worker processes,
locally or on a Dask cluster, one folder per run named by a stable hash of its parameters, and
collects the results into one DataFrame (``results.csv``).
"""

from __future__ import annotations

import ast
import contextlib
import hashlib
import itertools
import json
import math
import os
import signal
import time
import traceback
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from workbench.config import FIELDS
from workbench.exceptions import ConfigError, UnknownFieldError, WorkbenchError, did_you_mean
from workbench.runs import atomic_write_json

STATUS_FILE = "status.json"
RESULTS_FILE = "results.json"
ASSETS_DIR = "_assets"  #: in a sweep folder: the one plotly.js / MathJax the runs' pages share
KERNEL_LOG = "kernel.log"  #: the kernel process's own log lines (kept only when not empty)


class NotebookError(WorkbenchError):
    """A notebook cannot be run: missing, not a notebook, or without a parameters cell."""

    def __init__(self, message: str, path: str | None = None) -> None:
        self.field = "notebook"
        self.path = path
        super().__init__(message)


@dataclass
class NotebookParameter:
    """One name of a notebook's ``parameters`` cell."""

    name: str
    default: Any
    type_name: str
    help: str


@dataclass
class NotebookResult:
    """The outcome of one headless notebook run."""

    status: str  # completed | failed
    output_dir: Path
    parameters: dict[str, Any]
    results: dict[str, Any] = field(default_factory=dict)
    error: str | None = None
    cell: int | None = None
    seconds: float = 0.0


# --- parameters ---

def notebook_parameters(path: str | Path) -> dict[str, NotebookParameter]:
    """The names, defaults, types and help of a notebook's ``parameters`` cell.

    Example:
        >>> from workbench.notebooks import notebook_parameters
        >>> p = notebook_parameters("notebooks/00_workbench.ipynb")   # doctest: +SKIP
        >>> p["epochs"].default                                       # doctest: +SKIP
        10
    """
    nb = _read_notebook(path)
    cell = next((c for c in nb["cells"] if c.get("cell_type") == "code"
                 and "parameters" in c.get("metadata", {}).get("tags", [])), None)
    if cell is None:
        raise NotebookError(f"{str(path)!r} has no cell tagged 'parameters' (papermill needs one "
                            f"to inject values)", str(path))
    source = "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
    lines = source.splitlines()
    out = {}
    for node in ast.parse(source).body:
        target = node.target if isinstance(node, ast.AnnAssign) else (
            node.targets[0] if isinstance(node, ast.Assign) and len(node.targets) == 1 else None)
        if not isinstance(target, ast.Name) or node.value is None:
            continue
        try:
            default = ast.literal_eval(node.value)
        except ValueError:
            default = None
        type_name = (ast.unparse(node.annotation) if isinstance(node, ast.AnnAssign)
                     else type(default).__name__)
        line = lines[node.lineno - 1]
        help_ = line.split("#", 1)[1].strip() if "#" in line else ""
        out[target.id] = NotebookParameter(target.id, default, type_name, help_)
    return out


def _read_notebook(path: str | Path) -> dict[str, Any]:
    p = Path(path)
    if not p.is_file():
        raise NotebookError(f"notebook {str(path)!r} does not exist", str(path))
    try:
        nb = json.loads(p.read_text())
        nb["cells"]
    except (json.JSONDecodeError, KeyError, TypeError, UnicodeDecodeError):
        raise NotebookError(f"{str(path)!r} is not a Jupyter notebook", str(path)) from None
    return nb


def _check_type(param: NotebookParameter, value: Any) -> Any:
    """Check (and for strings from a command line, convert) a notebook-only parameter."""
    name = param.type_name.replace(" ", "").strip("'\"")
    if name.startswith("Optional[") and name.endswith("]"):
        name = name[len("Optional["):-1] + "|None"
    kind = name.split("|")
    allowed = [k for k in kind if k != "None"]
    if value is None and "None" in kind:
        return value
    if isinstance(value, str) and "str" not in allowed:
        value = _from_text(param, value, allowed, "None" in kind)
        if value is None and "None" in kind:
            return value
    checks = {"int": lambda v: isinstance(v, int) and not isinstance(v, bool),
              "float": lambda v: isinstance(v, int | float) and not isinstance(v, bool),
              "bool": lambda v: isinstance(v, bool), "str": lambda v: isinstance(v, str),
              "list": lambda v: isinstance(v, list | tuple),
              "dict": lambda v: isinstance(v, dict)}
    if allowed and all(k in checks for k in allowed) and not any(
            checks[k](value) for k in allowed):
        raise ConfigError(param.name, value, f"of type {param.type_name} (the notebook's "
                          f"parameters cell)")
    return value


def _from_text(param: NotebookParameter, text: str, allowed: list[str], optional: bool) -> Any:
    """A command-line string for a parameter that is not a string: a JSON value (a list
    ``[0, 0.5]``, a mapping, ``null``, a number, ``true``) or a plain number or boolean."""
    t = text.strip()
    if optional and t.lower() in ("none", "null", ""):
        return None
    try:
        return json.loads(t)
    except ValueError:
        pass
    if allowed and allowed[0] in ("int", "float", "bool"):
        from workbench.config import FieldSpec

        return FieldSpec(param.name, allowed[0], None, "", "data").parse(t)
    example = {"list": "[0, 0.5, 0.9]", "dict": '{"a": 1}'}.get(allowed[0] if allowed else "",
                                                                "[1, 2]")
    raise ConfigError(param.name, text, f"a JSON value of type {param.type_name} (for example "
                      f"-p {param.name} '{example}')")


def check_parameters(path: str | Path, parameters: Mapping[str, Any]) -> dict[str, Any]:
    """Validate ``parameters`` for a notebook; return them normalized (strings parsed).

    Unknown names are an error listing the valid ones; config fields are checked like
    ExperimentConfig checks them; the notebook's own parameters against their annotated type.
    A string given for a parameter that is not a string (as from a command line) is read as
    JSON (``"[0, 0.5, 0.9]"``, ``"null"``, ``'{"a": 1}'``) or a number; nothing is evaluated.
    """
    declared = notebook_parameters(path)
    out = {}
    for name, value in parameters.items():
        if name not in declared:
            raise UnknownFieldError(
                name, message=f"{name!r} is not a parameter of {Path(path).name}"
                f"{did_you_mean(name, declared)}; its parameters: {', '.join(declared)}")
        if name in FIELDS:
            spec = FIELDS[name]
            if isinstance(value, str) and spec.kind != "str":
                value = spec.parse(value)  # from a command line: "3", "0.5", "128,64"
            value = spec.check(value)
            value = list(value) if isinstance(value, tuple) else value
        else:
            value = _check_type(declared[name], value)
        out[name] = value
    if set(FIELDS) <= set(declared):  # a notebook built on the whole config: cross-field rules
        from workbench.config import ExperimentConfig

        merged = {n: p.default for n, p in declared.items() if n in FIELDS}
        merged.update({k: v for k, v in out.items() if k in FIELDS})
        ExperimentConfig.from_dict(merged)
    return out


def param_hash(parameters: Mapping[str, Any]) -> str:
    """A stable 10-hex-digit name for a parameter set (order-independent).

    Example:
        >>> from workbench.notebooks import param_hash
        >>> param_hash({"a": 1, "b": [2]}) == param_hash({"b": [2], "a": 1})
        True
    """
    text = json.dumps(parameters, sort_keys=True, default=str)
    return hashlib.sha1(text.encode()).hexdigest()[:10]


def save_results(output_dir: str | Path, results: Mapping[str, Any],
                 history: Any = None) -> Path:
    """Write a notebook's results (``results.json``; ``history.csv`` if given) for the sweep.

    Example:
        >>> import tempfile, workbench as wb
        >>> p = wb.save_results(tempfile.mkdtemp(), {"test_accuracy": 0.97})
        >>> p.name
        'results.json'
    """
    out = Path(output_dir)
    out.mkdir(parents=True, exist_ok=True)
    atomic_write_json(out / RESULTS_FILE, dict(results))
    if history is not None:
        history.to_csv(out / "history.csv", index=False)
    return out / RESULTS_FILE


# --- one notebook ---

def run_notebook(path: str | Path, parameters: Mapping[str, Any] | None = None,
                 output_dir: str | Path = "notebook-runs/run", *, kernel_name: str = "python3",
                 timeout: float | None = None, html: bool = True,
                 progress: bool = False) -> NotebookResult:
    """Execute a notebook headless with checked parameters; results go to ``output_dir``.

    A notebook with an ``output_dir`` parameter gets the output folder passed in. A failing cell
    or a dying kernel gives ``status="failed"`` with the cell and the error (the executed
    notebook, with the error banner, is kept); bad parameters raise before anything runs.
    ``progress=True`` shows a bar of executed cells on stderr (the CLI's default).

    Example:
        >>> import workbench as wb
        >>> r = wb.run_notebook("notebooks/05_compression_pipeline.ipynb",
        ...                     {"epochs": 2, "prune_ratio": 0.5}, "out/run1")   # doctest: +SKIP
        >>> r.status, r.results["test_accuracy"]                                 # doctest: +SKIP
    """
    params = check_parameters(path, dict(parameters or {}))
    declared = notebook_parameters(path)
    out = Path(output_dir).resolve()
    out.mkdir(parents=True, exist_ok=True)
    if "output_dir" in declared:
        params.setdefault("output_dir", str(out))
    atomic_write_json(out / "params.json", params)
    (out / STATUS_FILE).unlink(missing_ok=True)
    return _execute(Path(path).resolve(), params, out, kernel_name, timeout, html,
                    progress=progress)


def _execute(path: Path, params: dict[str, Any], out: Path, kernel_name: str,
             timeout: float | None, html: bool, assets: Path | None = None, *,
             progress: bool = False) -> NotebookResult:
    import papermill as pm

    from workbench.html_export import RENDERER

    t0 = time.perf_counter()
    status, error, cell = "completed", None, None
    saved_env = os.environ.get("PLOTLY_RENDERER")
    os.environ["PLOTLY_RENDERER"] = RENDERER  # figures as JSON; the HTML page adds plotly.js
    try:
        with _quiet_loggers():
            pm.execute_notebook(str(path), str(out / "notebook.ipynb"), parameters=params,
                                cwd=str(out), kernel_name=kernel_name,
                                progress_bar=progress, execution_timeout=timeout,
                                store_widget_state=False,
                                kernel_manager_class=_kernel_manager(out / KERNEL_LOG))
    except KeyboardInterrupt:
        status, error = "interrupted", "interrupted (Ctrl-C) before the notebook finished"
    except pm.PapermillExecutionError as e:
        status, error, cell = "failed", f"{e.ename}: {e.evalue}", e.cell_index
        if e.ename == "KeyboardInterrupt":  # Ctrl-C reached the kernel too
            status, error = "interrupted", "interrupted (Ctrl-C) in this cell"
    except Exception as e:  # a dead kernel, a timeout...
        status, error = "failed", f"{type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}"
    finally:
        if saved_env is None:
            os.environ.pop("PLOTLY_RENDERER", None)
        else:
            os.environ["PLOTLY_RENDERER"] = saved_env
    if html and (out / "notebook.ipynb").exists():
        try:
            to_html(out / "notebook.ipynb", out / "notebook.html", assets=assets)
        except Exception as e:  # the run's own outcome matters more than its HTML copy
            error = error or f"HTML export failed: {e}"
    log = out / KERNEL_LOG
    if log.exists() and not log.stat().st_size:
        log.unlink()
    results = {}
    if (out / RESULTS_FILE).exists():
        results = json.loads((out / RESULTS_FILE).read_text())
    seconds = time.perf_counter() - t0
    atomic_write_json(out / STATUS_FILE, {"status": status, "error": error, "cell": cell,
                                          "seconds": seconds})
    return NotebookResult(status, out, params, results, error, cell, seconds)


def to_html(notebook: str | Path, html_path: str | Path, *,
            assets: str | Path | None = None) -> Path:
    """Write an executed notebook as HTML with code inputs hidden; charts and math render
    offline (see :mod:`workbench.html_export`: ``assets=None`` inlines plotly.js and MathJax,
    a folder holds one shared copy that the page links to)."""
    import nbformat

    from workbench.html_export import notebook_html

    return notebook_html(nbformat.read(str(notebook), as_version=4), html_path, assets=assets)


def _kernel_manager(log_path: Path) -> type:
    """A kernel manager for headless runs.

    Its kernels talk over local IPC sockets instead of TCP on 127.0.0.1 (nothing listens on a
    port, and ipykernel has no reason to warn that TCP is unencrypted), and the kernel
    process's own log (ipykernel's notices, such as the "KeyboardInterrupt caught in kernel"
    that every shutdown's interrupt causes) goes to ``log_path`` instead of the terminal.
    What the notebook's code prints stays in the notebook. ``WORKBENCH_VERBOSE=1`` keeps the
    log on the terminal.
    """
    from jupyter_client.manager import AsyncKernelManager
    from traitlets import CaselessStrEnum

    from workbench._env import verbose

    class HeadlessKernelManager(AsyncKernelManager):
        transport = CaselessStrEnum(["tcp", "ipc"], default_value="ipc", config=True)

        async def _async_launch_kernel(self, kernel_cmd: list[str], **kw: Any) -> None:
            if verbose():
                return await super()._async_launch_kernel(kernel_cmd, **kw)
            with open(log_path, "ab") as log:  # the child keeps its own copy of the handle
                return await super()._async_launch_kernel(kernel_cmd, stderr=log, **kw)

    return HeadlessKernelManager


# --- sweeps ---

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


_WORKER = {"busy": False, "interrupted": False}


def _worker_init() -> None:
    """Local pool workers: Ctrl-C interrupts the run in progress, and the worker then starts
    no other (an idle worker just notes it, instead of dying with a traceback)."""
    def on_sigint(signum: int, frame: Any) -> None:
        _WORKER["interrupted"] = True
        if _WORKER["busy"]:
            raise KeyboardInterrupt

    signal.signal(signal.SIGINT, on_sigint)
    import logging

    from workbench._env import verbose

    if not verbose():  # an interrupted run's unretrieved nbclient task, collected later
        logging.getLogger("asyncio").setLevel(logging.CRITICAL)


def _run_one(task: tuple[str, dict[str, Any], str, float | None]) -> dict[str, Any]:
    """Worker entry point (a separate process): run one notebook, return a summary row."""
    path, params, out, timeout = task
    if _WORKER["interrupted"]:
        row = {"status": "cancelled", "error": "the sweep was interrupted (Ctrl-C) before this "
               "run started; --resume runs it", "cell": None, "seconds": None}
        atomic_write_json(Path(out) / STATUS_FILE, row)
        return row
    _WORKER["busy"] = True
    try:
        r = _execute(Path(path), params, Path(out), "python3", timeout, True,
                     Path(out).parent / ASSETS_DIR)
        return {"status": r.status, "error": r.error, "cell": r.cell, "seconds": r.seconds}
    except Exception as e:  # never let a worker die silently
        return {"status": "failed", "error": f"{type(e).__name__}: {e}",
                "cell": None, "seconds": 0.0, "traceback": traceback.format_exc()}
    finally:
        _WORKER["busy"] = False


def sweep(notebook: str | Path, grid: Mapping[str, Iterable[Any]] | None = None,
          output_dir: str | Path = "sweeps/sweep", *, runs: list[dict[str, Any]] | None = None,
          workers: int = 2, executor: str = "local", scheduler: str | None = None,
          resume: bool = True, timeout: float | None = None, progress: bool = True) -> Any:
    """Run a notebook for every parameter combination, in parallel; return the results table.

    Args:
        notebook: the parameterized notebook.
        grid: ``{name: [values]}``; every combination runs. Or give ``runs``, a list of dicts.
        output_dir: one sub-folder per run, named by :func:`param_hash` of its parameters, and
            ``results.csv`` (one row per run: parameters, status, the notebook's results).
        workers: parallel notebooks (worker processes, or Dask workers of a LocalCluster).
        executor: ``local`` (a process pool) or ``dask`` (``scheduler="tcp://host:8786"``, or a
            LocalCluster of ``workers`` processes on 127.0.0.1 when None).
        resume: skip runs already completed in ``output_dir``; rerun failed or missing ones.

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
    param_sets = expand_grid(grid) if grid is not None else [dict(r) for r in runs or []]
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
            runner = _run_dask if executor == "dask" else _run_local
            runner(tasks, workers, scheduler, progress, skipped, len(checked))
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


def _run_local(tasks: list[Any], workers: int, scheduler: str | None, progress: bool,
               done: int, total: int) -> None:
    import multiprocessing as mp
    from concurrent.futures import ProcessPoolExecutor, as_completed

    ctx = mp.get_context("spawn")  # a clean interpreter per worker (no inherited TF state)
    pool = ProcessPoolExecutor(max_workers=min(workers, len(tasks)), mp_context=ctx,
                               initializer=_worker_init)
    bar = _bar(total, done, progress)
    futures = []
    try:
        with _main_not_reimported():  # the workers are started by the first submits
            futures = [pool.submit(_run_one, t) for t in tasks]
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


@contextlib.contextmanager
def _quiet_loggers() -> Iterator[None]:
    """papermill's and asyncio's own log lines stay out of the terminal while a notebook runs:
    what went wrong is recorded in ``status.json`` (the cell and the error), and an interrupted
    run would otherwise print nbclient's "Kernel died while waiting for execute reply" and an
    unretrieved-task traceback. ``WORKBENCH_VERBOSE=1`` keeps them."""
    import logging

    from workbench._env import verbose

    loggers = [logging.getLogger(n) for n in ("papermill", "asyncio", "traitlets")]
    saved = [lg.level for lg in loggers]
    if not verbose():
        for lg in loggers:
            lg.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        for lg, level in zip(loggers, saved, strict=True):
            lg.setLevel(level)


@contextlib.contextmanager
def _main_not_reimported() -> Iterator[None]:
    """Start worker processes without re-running the caller's script in each of them.

    A spawned worker re-imports ``__main__`` from its file unless the script guards its code
    with ``if __name__ == "__main__":``; an unguarded script that calls ``wb.sweep`` would
    re-run in every worker (and fail with ``BrokenProcessPool``). The workers need nothing
    from ``__main__`` (they run :func:`_run_one` on plain data), so while they start, the main
    module does not say where it came from.
    """
    import sys

    main = sys.modules.get("__main__")
    saved = {k: main.__dict__[k] for k in ("__file__", "__spec__")
             if main is not None and k in main.__dict__}
    try:
        if main is not None:
            main.__dict__.pop("__file__", None)
            if "__spec__" in saved:
                main.__spec__ = None
        yield
    finally:
        if main is not None:
            main.__dict__.update(saved)


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


def _run_dask(tasks: list[Any], workers: int, scheduler: str | None, progress: bool,
              done: int, total: int) -> None:
    from dask.distributed import Client, LocalCluster, as_completed

    cluster = None
    if scheduler is None:
        with _main_not_reimported():
            cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                                   host="127.0.0.1", dashboard_address=None)
        client = Client(cluster)
    else:
        try:
            client = Client(scheduler, timeout=10)
        except Exception as e:
            raise ConfigError("scheduler", scheduler, f"the address of a reachable Dask "
                              f"scheduler ({type(e).__name__}: {e})") from None
    bar = _bar(total, done, progress)
    try:
        futures = client.map(_run_one, tasks, pure=False)
        for f in as_completed(futures):
            row = f.result()
            bar.update(1)
            bar.set_postfix_str(row["status"])
    finally:
        bar.close()
        client.close()
        if cluster is not None:
            cluster.close()


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
