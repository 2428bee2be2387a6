"""Run one parameterized notebook with papermill: a run folder, its HTML, its results."""


from __future__ import annotations

import contextlib
import json
import os
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from workbench._io import atomic_write_json
from workbench.notebooks.params import check_parameters, notebook_parameters

STATUS_FILE = "status.json"

RESULTS_FILE = "results.json"

ASSETS_DIR = "_assets"  #: in a sweep folder: the one plotly.js / MathJax the runs' pages share

KERNEL_LOG = "kernel.log"  #: the kernel process's own log lines (kept only when not empty)


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
    return execute(Path(path).resolve(), params, out, kernel_name, timeout, html,
                    progress=progress)


def execute(path: Path, params: dict[str, Any], out: Path, kernel_name: str,
             timeout: float | None, html: bool, assets: Path | None = None, *,
             progress: bool = False) -> NotebookResult:
    import papermill as pm

    from workbench.html_export import RENDERER

    t0 = time.perf_counter()
    status, error, cell = "completed", None, None
    saved_env = os.environ.get("PLOTLY_RENDERER")
    os.environ["PLOTLY_RENDERER"] = RENDERER  # figures as JSON; the HTML page adds plotly.js
    try:
        with quiet_loggers():
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


@contextlib.contextmanager
def quiet_loggers() -> Iterator[None]:
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
