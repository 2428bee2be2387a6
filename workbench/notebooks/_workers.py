"""What runs in a sweep's worker processes (the local pool's, and the subprocess a Dask task
starts): one notebook per call, with Ctrl-C handled, on plain data."""


from __future__ import annotations

import contextlib
import signal
import traceback
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from workbench._io import atomic_write_json
from workbench.notebooks.execute import ASSETS_DIR, STATUS_FILE, execute

WORKER_STATE = {"busy": False, "interrupted": False}


def worker_init() -> None:
    """Local pool workers: Ctrl-C interrupts the run in progress, and the worker then starts
    no other (an idle worker just notes it, instead of dying with a traceback)."""
    def on_sigint(signum: int, frame: Any) -> None:
        WORKER_STATE["interrupted"] = True
        if WORKER_STATE["busy"]:
            raise KeyboardInterrupt

    signal.signal(signal.SIGINT, on_sigint)
    import logging

    from workbench._env import verbose

    if not verbose():  # an interrupted run's unretrieved nbclient task, collected later
        logging.getLogger("asyncio").setLevel(logging.CRITICAL)


def run_one(task: tuple[str, dict[str, Any], str, float | None]) -> dict[str, Any]:
    """Worker entry point (a separate process): run one notebook, return a summary row."""
    path, params, out, timeout = task
    if WORKER_STATE["interrupted"]:
        row = {"status": "cancelled", "error": "the sweep was interrupted (Ctrl-C) before this "
               "run started; --resume runs it", "cell": None, "seconds": None}
        atomic_write_json(Path(out) / STATUS_FILE, row)
        return row
    WORKER_STATE["busy"] = True
    try:
        r = execute(Path(path), params, Path(out), "python3", timeout, True,
                     Path(out).parent / ASSETS_DIR)
        return {"status": r.status, "error": r.error, "cell": r.cell, "seconds": r.seconds}
    except Exception as e:  # never let a worker die silently
        return {"status": "failed", "error": f"{type(e).__name__}: {e}",
                "cell": None, "seconds": 0.0, "traceback": traceback.format_exc()}
    finally:
        WORKER_STATE["busy"] = False


@contextlib.contextmanager
def main_not_reimported() -> Iterator[None]:
    """Start worker processes without re-running the caller's script in each of them.

    A spawned worker re-imports ``__main__`` from its file unless the script guards its code
    with ``if __name__ == "__main__":``; an unguarded script that calls ``wb.sweep`` would
    re-run in every worker (and fail with ``BrokenProcessPool``). The workers need nothing
    from ``__main__`` (they run :func:`run_one` on plain data), so while they start, the main
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
