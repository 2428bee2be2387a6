"""Sweeps on a Dask cluster that shares no disk with the client.

Each run travels as data: the worker gets the notebook's bytes and the parameters, executes in
a scratch folder of its own, and sends the run folder's files back (executed notebook, HTML,
``params.json``, ``status.json``, ``results.json``, history...), up to a size cap. The client
writes them under the sweep's output folder. So the workers need the package and the data sets,
not the client's paths.

Failures keep their text: a failed cell is in ``status.json`` as in a local sweep; a worker
that dies mid-run has its run rescheduled by Dask (up to ``distributed.scheduler.
allowed-failures`` times) and then recorded as failed with Dask's ``KilledWorker``; a lost
scheduler fails the runs still out. Ctrl-C sets a Dask ``Event`` that every running run polls:
its notebook is interrupted, and runs not yet started return at once as ``cancelled``.

Example:
    >>> from workbench.notebooks.remote import scheduler_address
    >>> scheduler_address("tcp://10.0.0.5:8786", env={})
    'tcp://10.0.0.5:8786'
    >>> scheduler_address(None, env={"WORKBENCH_SCHEDULER": "tcp://head:8786"})
    'tcp://head:8786'
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from workbench._io import atomic_write_json
from workbench.data.sources import DATA_MAP_ENV
from workbench.notebooks._workers import main_not_reimported
from workbench.notebooks.execute import ASSETS_DIR, STATUS_FILE

SCHEDULER_ENV = "WORKBENCH_SCHEDULER"
MAX_RETURN_MB = 200.0  #: the default cap on one run folder sent back by a worker
MAX_DATA_MB = 500.0  #: the default cap on a data file or folder that travels to the workers
SHIPPED_FIELDS = ("dataset", "model")  #: parameters whose local file or folder travels
_KEEP_PAST_CAP = ("params.json", STATUS_FILE, "results.json")
_CHILD = """
import signal
early = []  # a Ctrl-C that comes while the imports run: the run is then cancelled
signal.signal(signal.SIGINT, lambda *_: early.append(1))
import json, os, sys, threading, time
from pathlib import Path
from workbench.notebooks._workers import WORKER_STATE, run_one, worker_init

def orphaned(ppid=os.getppid()):  # the Dask worker died: stop the notebook
    while os.getppid() == ppid:
        time.sleep(1)
    os.kill(os.getpid(), signal.SIGINT)

worker_init()
WORKER_STATE["interrupted"] = bool(early)
threading.Thread(target=orphaned, daemon=True).start()
task = json.loads(Path(sys.argv[1]).read_text())
Path(sys.argv[2]).write_text(json.dumps(run_one(tuple(task))))
"""


def scheduler_address(scheduler: str | None, env: dict[str, str] | None = None) -> str | None:
    """The Dask scheduler to use: the one given, else ``$WORKBENCH_SCHEDULER``, else None (a
    local cluster)."""
    return scheduler or (os.environ if env is None else env).get(SCHEDULER_ENV) or None


def pack_path(path: str, field: str, cap_bytes: int) -> bytes:
    """A local file's bytes, or a folder as an uncompressed zip, to travel with a Dask task;
    ConfigError naming the field, the path and the cap when it is larger."""
    import io
    import zipfile

    from workbench.exceptions import ConfigError

    p = Path(path)
    files = [p] if p.is_file() else [f for f in sorted(p.rglob("*")) if f.is_file()]
    total = sum(f.stat().st_size for f in files)
    if total > cap_bytes:
        raise ConfigError(field, path, message=f"{field}={path!r} is {total / 1e6:.1f} MB, over "
                          f"the {cap_bytes / 1e6:.1f} MB that travels with a Dask sweep's "
                          "runs (workers share no disk with this machine): raise max_data_mb= "
                          "(CLI --max-data-mb), or name a path every worker can read")
    if p.is_file():
        return p.read_bytes()
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as z:  # images are compressed already
        for f in files:
            z.write(f, f.relative_to(p).as_posix())
    return buf.getvalue()


def local_paths(params: dict[str, Any]) -> dict[str, str]:
    """``{field: path}`` of the parameters of :data:`SHIPPED_FIELDS` that name a local file
    or folder (absolute)."""
    out = {}
    for field in SHIPPED_FIELDS:
        value = params.get(field)
        if isinstance(value, str) and ":" not in value.split("/")[0] and Path(value).exists():
            out[field] = value
    return out


def _unpack(scratch: Path, shipped: dict[str, bytes]) -> dict[str, str]:
    """Write the shipped data under ``scratch``; ``{original path: local copy}``."""
    import io
    import zipfile

    mapping = {}
    for i, (original, blob) in enumerate(sorted(shipped.items())):
        target = scratch / "_data" / str(i) / (Path(original).name or "data")
        target.parent.mkdir(parents=True)
        if zipfile.is_zipfile(io.BytesIO(blob)) and not original.lower().endswith(
                (".npz", ".keras", ".csv", ".parquet")):
            with zipfile.ZipFile(io.BytesIO(blob)) as z:
                for name in z.namelist():  # extract() drops '..' and absolute parts
                    z.extract(name, target)
        else:
            target.write_bytes(blob)
        mapping[original] = str(target)
    return mapping


def run_shipped(notebook_name: str, notebook: bytes, params: dict[str, Any], run_name: str,
                timeout: float | None, cap_bytes: int, stop_event: str,
                shipped: dict[str, bytes] | None = None) -> dict[str, Any]:
    """The Dask task: run one notebook in a scratch folder here; return its row and files.

    ``shipped`` holds the bytes of the local data files and folders the parameters name: they
    are written into the scratch folder, and the run reads them there under the names it was
    given (``WORKBENCH_DATA_MAP``), so its record names the client's path."""
    from distributed import Event

    stop = Event(stop_event)
    if stop.is_set():
        return {"row": _cancelled(), "files": {}}
    with tempfile.TemporaryDirectory(prefix="wb-sweep-") as tmp:
        scratch = Path(tmp)
        env = dict(os.environ)
        if shipped:
            env[DATA_MAP_ENV] = json.dumps(_unpack(scratch, shipped))
        (scratch / notebook_name).write_bytes(notebook)
        out = scratch / run_name
        out.mkdir()
        (scratch / ASSETS_DIR).mkdir()
        if "output_dir" in params:
            params = {**params, "output_dir": str(out)}
        atomic_write_json(out / "params.json", {k: v for k, v in params.items()
                                                if k != "output_dir"})
        task, row_file = scratch / "task.json", scratch / "row.json"
        task.write_text(json.dumps([str(scratch / notebook_name), params, str(out), timeout]))
        child = subprocess.Popen([sys.executable, "-c", _CHILD, str(task), str(row_file)],
                                 stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
        while child.poll() is None:
            if stop.wait(timeout=0.5):
                child.send_signal(signal.SIGINT)
                break
        _, err = child.communicate()
        try:
            row = json.loads(row_file.read_text())
        except (OSError, ValueError):
            tail = err.decode(errors="replace").strip().splitlines()[-1:] or ["no output"]
            row = {"status": "failed", "error": f"the run's process exited with "
                   f"{child.returncode}: {tail[0]}", "cell": None, "seconds": None}
            atomic_write_json(out / STATUS_FILE, row)
        return {"row": row, "files": _folder_files(out, row, cap_bytes)}


def _folder_files(out: Path, row: dict[str, Any], cap_bytes: int) -> dict[str, bytes]:
    paths = [p for p in sorted(out.rglob("*")) if p.is_file()]
    total = sum(p.stat().st_size for p in paths)
    if total > cap_bytes:
        row.update(status="failed", error=f"the run folder is {total / 1e6:.1f} MB, over the "
                   f"{cap_bytes / 1e6:.1f} MB a Dask worker sends back: raise it with "
                   "max_return_mb= (CLI --max-return-mb), or write less (html=False, "
                   "smaller exports)")
        atomic_write_json(out / STATUS_FILE, {k: row.get(k) for k in
                                              ("status", "error", "cell", "seconds")})
        paths = [p for p in paths if p.name in _KEEP_PAST_CAP and p.parent == out]
    return {p.relative_to(out).as_posix(): p.read_bytes() for p in paths}


def _cancelled() -> dict[str, Any]:
    return {"status": "cancelled", "error": "the sweep was interrupted (Ctrl-C) before this "
            "run started; --resume runs it", "cell": None, "seconds": None}


def _write_back(out: Path, files: dict[str, bytes]) -> None:
    """A returned run folder, written under the client's output folder (``status.json`` last,
    so a half-written folder never reads as done)."""
    root = out.resolve()
    for rel, data in sorted(files.items(), key=lambda kv: kv[0] == STATUS_FILE):
        target = (out / rel).resolve()
        if root not in target.parents:  # a path from a worker is data, not a command
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
        tmp.write_bytes(data)
        os.replace(tmp, target)
    html = out / "notebook.html"
    if html.exists():
        from workbench.html_export import provide_linked_assets

        provide_linked_assets(html, out.parent / ASSETS_DIR)


def _record(out: Path, row: dict[str, Any]) -> None:
    atomic_write_json(out / STATUS_FILE, {k: row.get(k) for k in
                                          ("status", "error", "cell", "seconds")})


def run_dask(tasks: list[Any], workers: int, scheduler: str | None, bar: Any,
             max_return_mb: float = MAX_RETURN_MB, grace: float = 30.0,
             max_data_mb: float = MAX_DATA_MB) -> None:
    """Run a sweep's tasks on Dask (``scheduler``, ``$WORKBENCH_SCHEDULER`` or a local
    cluster of ``workers`` processes), writing each run folder back as it completes.

    A data file or folder (or ``.keras`` model) that a run's parameters name travels with it,
    up to ``max_data_mb``: each is sent to the cluster once and shared by its runs."""
    from dask.distributed import Client, Event, LocalCluster, as_completed
    from distributed import KilledWorker

    from workbench.exceptions import ConfigError

    address, cluster = scheduler_address(scheduler), None
    if address is None:
        with main_not_reimported():
            cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                                   host="127.0.0.1", dashboard_address=None)
        client = Client(cluster)
    else:
        try:
            client = Client(address, timeout=10)
        except Exception as e:
            raise ConfigError("scheduler", address, f"the address of a reachable Dask "
                              f"scheduler ({type(e).__name__}: {e})") from None
    stop_name = f"workbench-sweep-stop-{uuid.uuid4().hex}"
    cap = int(max_return_mb * 1e6)
    futures: dict[Any, Path] = {}
    try:
        blobs: dict[str, Any] = {}  # path -> its bytes, scattered once
        for _, params, _, _ in tasks:
            for field, path in local_paths(params).items():
                if path not in blobs:
                    blobs[path] = client.scatter(pack_path(path, field, int(max_data_mb * 1e6)))
        for nb_path, params, out, timeout in tasks:
            nb = Path(nb_path)
            shipped = {p: blobs[p] for p in local_paths(params).values()}
            f = client.submit(run_shipped, nb.name, nb.read_bytes(), params, Path(out).name,
                              timeout, cap, stop_name, shipped, pure=False,
                              key=f"workbench-run-{Path(out).name}-{uuid.uuid4().hex[:8]}")
            futures[f] = Path(out)
        pending = set(futures)
        try:
            for f in as_completed(list(futures)):
                pending.discard(f)
                _collect_one(f, futures[f], bar, KilledWorker)
        except KeyboardInterrupt:
            Event(stop_name, client=client).set()  # running runs stop, queued ones cancel
            deadline = time.monotonic() + grace
            try:
                for f in as_completed(list(pending), timeout=grace):
                    pending.discard(f)
                    _collect_one(f, futures[f], bar, KilledWorker)
                    if time.monotonic() > deadline:
                        break
            except (KeyboardInterrupt, TimeoutError, Exception):  # a second Ctrl-C: go
                pass
            client.cancel(list(pending), force=True)
            for f in pending:
                _record(futures[f], {**_cancelled(), "error": "the sweep was interrupted "
                                     "(Ctrl-C) before this run ended; --resume runs it"})
            raise
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def _collect_one(f: Any, out: Path, bar: Any, killed: type) -> None:
    try:
        res = f.result()
        _write_back(out, res["files"])
        row = res["row"]
        if not (out / STATUS_FILE).exists():
            _record(out, row)
    except killed as e:
        row = {"status": "failed", "error": f"the Dask worker running it died, on every try "
               f"(KilledWorker: {e}); --resume runs it again", "cell": None, "seconds": None}
        _record(out, row)
    except Exception as e:  # a lost scheduler, a task that could not be sent...
        row = {"status": "failed", "error": f"the sweep lost this run ({type(e).__name__}: "
               f"{e}); --resume runs it again", "cell": None, "seconds": None}
        _record(out, row)
    bar.update(1)
    bar.set_postfix_str(row["status"])
