"""The run store: one folder per run, every file written atomically, a table over all runs.

Layout of ``<root>/<run_id>/``::

    config.json    the ExperimentConfig (written first)
    status.json    {"status": "running" | "completed" | "stopped" | "pruned" | "diverged" |
                    "failed", ...}
    events.jsonl   the metric events, appended live (``wb.follow`` reads it)
    history.csv    one row per epoch
    metrics.json   final metrics
    model.keras    the trained model
    model.wbz      the packed artifact (``export`` lists ``packed``)
    model_<kind>.tflite   each TFLite export listed in ``export``

The store owns these names (:func:`artifact_name`): compression hands it the bytes.

Every file except the live event log is written to a temporary name and renamed into place, so
a process killed at any moment leaves either the old file or the new one, never half of one. A
run whose writer died shows as ``incomplete``.

``<root>/index.jsonl`` holds one line per finished run (config, metrics, status), so that
``table()`` over 10,000 runs reads one file. It is only a cache: the run folders are the truth,
and a run missing from the index (or with a damaged line) is read from its folder.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import time
import uuid
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

from workbench._io import atomic_write_bytes, atomic_write_json, atomic_write_text, json_safe
from workbench.config import ExperimentConfig
from workbench.exceptions import StoreError
from workbench.exports import EXPORTS

INDEX = "index.jsonl"
DATA_RECORD = "data.json"


def read_data_record(run_dir: Path) -> dict[str, Any] | None:
    """The fingerprint of the data a run was trained on (``data.json``), None if it has none
    (runs that predate it) or it is unreadable."""
    rec, why = read_json_checked(Path(run_dir) / DATA_RECORD)
    return rec if why is None and isinstance(rec, dict) else None


class RunStatus(StrEnum):
    """Where a run stands: the one list of statuses the store, the events and the views use.

    ``incomplete``: the writer died; ``unreadable``: a file of the folder is malformed (a run
    copied from elsewhere, a damaged disk): the table shows it with the reason in ``error``.
    A member is its string, so ``result.status == "completed"`` holds and JSON has the text.

    Example:
        >>> from workbench.runs import RunStatus
        >>> RunStatus.STOPPED == "stopped", RunStatus.STOPPED.usable, f"{RunStatus.FAILED}"
        (True, True, 'failed')
    """

    RUNNING = "running"
    COMPLETED = "completed"
    STOPPED = "stopped"  # a stop request or Ctrl-C: the weights so far are kept
    PRUNED = "pruned"  # stopped early by a search's pruner (worse than its peers so far)
    DIVERGED = "diverged"  # a NaN/inf loss
    FAILED = "failed"
    INCOMPLETE = "incomplete"
    UNREADABLE = "unreadable"

    def __repr__(self) -> str:  # shown as the plain string it equals: 'completed'
        return repr(self.value)

    @property
    def usable(self) -> bool:
        """True when the run's weights can be evaluated, compressed or trained further."""
        return self in (RunStatus.COMPLETED, RunStatus.STOPPED, RunStatus.PRUNED)


STATUSES: tuple[str, ...] = tuple(RunStatus)


def write_artifact(folder: Path, kind: str, data: bytes) -> Path:
    """Write an export's bytes into ``folder`` under its run-folder name, atomically."""
    path = Path(folder) / artifact_name(kind)
    atomic_write_bytes(path, data)
    return path


def artifact_name(kind: str) -> str:
    """The file name of an export kind in a run folder.

    Example:
        >>> from workbench.runs import artifact_name
        >>> artifact_name("packed"), artifact_name("tflite_int8")
        ('model.wbz', 'model_tflite_int8.tflite')
    """
    from workbench.config import FIELDS

    FIELDS["export"].check([kind])
    return EXPORTS[kind].file


def _slug(text: str) -> str:
    s = re.sub(r"[^A-Za-z0-9_.-]+", "-", text).strip("-.")
    return s[:40] or "run"


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _read_json(path: Path) -> Any:
    return read_json_checked(path)[0]


def _no_constants(name: str) -> Any:
    raise ValueError(f"{name} is not JSON (the workbench writes null for non-finite numbers)")


def read_json_checked(path: Path) -> tuple[Any, str | None]:
    """``(data, None)``, ``(None, None)`` for a missing file, or ``(None, reason)`` when the
    file cannot be read or is not strict JSON (NaN/Infinity included)."""
    if not path.is_file():
        return None, None
    try:
        text = path.read_text(encoding="utf-8")
        return json.loads(text, parse_constant=_no_constants), None
    except (OSError, UnicodeDecodeError, ValueError) as e:
        return None, f"{path.name}: {type(e).__name__}: {str(e)[:200]}"


@dataclass
class RunResult:
    """What one run produced.

    Attributes:
        config: the ExperimentConfig that was run.
        history: DataFrame, one row per epoch (loss, accuracy, val_loss, val_accuracy, lr,
            epoch_time_s).
        metrics: final metrics (test_loss, test_accuracy, params, trainable_params,
            size_bytes_float32, train_time_s, ...).
        status: ``completed``, ``stopped``, ``diverged`` or ``failed`` (``incomplete`` for a
            run whose process died, when loaded from a store).
        run_id, run_dir: where it is stored (``run_dir`` is None with ``store=False``).
        model: the trained keras.Model (None when loaded without ``model=True``).
        error: the error message of a failed run.
        events: the metric events of the run (batch, epoch, start, end).

    Example:
        >>> import workbench as wb
        >>> r = wb.run(wb.ExperimentConfig(epochs=1), store=False)   # doctest: +SKIP
        >>> r.status, round(r.metrics["test_accuracy"], 2)            # doctest: +SKIP
        ('completed', 0.93)
    """

    config: ExperimentConfig
    history: Any
    metrics: dict[str, Any]
    status: RunStatus
    run_id: str
    run_dir: Path | None = None
    model: Any = None
    error: str | None = None
    events: list[dict[str, Any]] = field(default_factory=list, repr=False)
    data: Any = field(default=None, repr=False)
    data_record: dict[str, Any] | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        self.status = RunStatus(self.status)  # a status read from disk is its plain string

    def load_data(self, data: Any = None, *, trust: bool = False) -> Any:
        """The data this run was trained on, as a ``wb.Dataset``, checked against its record.

        The arrays it kept (a run of this session), else ``data`` (arrays or a Dataset: a run
        on in-memory arrays needs them in another process), else what its ``dataset`` names,
        reloaded. Anything that differs from the run's fingerprint is a DataError naming
        ``dataset`` and what differs; ``trust`` allows a ``module:function`` it names.

        Example:
            >>> import workbench as wb
            >>> store = wb.RunStore("runs")                      # doctest: +SKIP
            >>> store.load(store.run_ids()[-1]).load_data().x_test.shape  # doctest: +SKIP
            (360, 8, 8, 1)
        """
        from workbench.data.sources import data_of_run

        record = self.data_record
        if record is None and self.run_dir is not None:
            record = read_data_record(self.run_dir)
        return data_of_run(self.config, self.run_id, self.data if data is None else data,
                           record, trust)

    def __repr__(self) -> str:
        acc = self.metrics.get("test_accuracy")
        acc_s = f", test_accuracy={acc:.4f}" if isinstance(acc, float) else ""
        return (f"RunResult(run_id={self.run_id!r}, status={self.status!r}{acc_s}, "
                f"epochs={len(self.history)})")


class RunWriter:
    """Writes one run's folder. Created by :meth:`RunStore.start`."""

    def __init__(self, store: RunStore, run_id: str, cfg: ExperimentConfig,
                 extra: dict[str, Any] | None = None, data: dict[str, Any] | None = None
                 ) -> None:
        self.store = store
        self.run_id = run_id
        self.dir = store.root / run_id
        self.config = cfg
        self.started_at = time.time()
        self.dir.mkdir(parents=True, exist_ok=False)
        atomic_write_json(self.dir / "config.json", cfg.to_dict())
        if data is not None:
            atomic_write_json(self.dir / DATA_RECORD, data)
        self._status: dict[str, Any] = {"status": "running", "started_at": self.started_at,
                                        "pid": os.getpid(), "host": socket.gethostname(),
                                        **(extra or {})}
        atomic_write_json(self.dir / "status.json", self._status)

    def write_history(self, history: Any) -> None:
        atomic_write_text(self.dir / "history.csv", history.to_csv(index=False))

    def write_metrics(self, metrics: dict[str, Any]) -> None:
        atomic_write_json(self.dir / "metrics.json", metrics)

    def save_model(self, model: Any) -> Path:
        final = self.dir / artifact_name("keras")
        tmp = self.dir / f".model.tmp-{os.getpid()}.keras"
        model.save(tmp)
        os.replace(tmp, final)
        return final

    def save_artifact(self, kind: str, data: bytes) -> Path:
        """Write an export's bytes under the store's name for it (:func:`artifact_name`)."""
        return write_artifact(self.dir, kind, data)

    def finish(self, status: str, metrics: dict[str, Any], error: str | None = None) -> None:
        """Write the final status, then append the run's line to the store index."""
        self._status.update(status=status, ended_at=time.time())
        if error:
            self._status["error"] = error
        atomic_write_json(self.dir / "status.json", self._status)
        line = json.dumps(json_safe({
            "run_id": self.run_id, "status": status, "started_at": self.started_at,
            "ended_at": self._status["ended_at"], "config": self.config.to_dict(),
            "metrics": metrics, "error": error})) + "\n"
        fd = os.open(self.store.root / INDEX, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, line.encode())  # one write of one line: atomic for O_APPEND files
        finally:
            os.close(fd)


class RunStore:
    """A folder of runs. Nothing is written until a run starts.

    Example:
        >>> import workbench as wb, tempfile
        >>> store = wb.RunStore(tempfile.mkdtemp())
        >>> len(store.table())
        0
    """

    def __init__(self, root: str | Path = "runs") -> None:
        self.root = Path(root)

    def __repr__(self) -> str:
        return f"RunStore({str(self.root)!r})"

    # --- writing ---
    def start(self, cfg: ExperimentConfig, extra: dict[str, Any] | None = None,
              data: dict[str, Any] | None = None) -> RunWriter:
        """Create a new run folder (config, the data's fingerprint ``data``, status
        ``running``) and return its writer."""
        self.root.mkdir(parents=True, exist_ok=True)
        run_id = f"{time.strftime('%Y%m%d-%H%M%S')}-{_slug(cfg.label)}-{uuid.uuid4().hex[:6]}"
        return RunWriter(self, run_id, cfg, extra, data)

    # --- reading ---
    def run_ids(self) -> list[str]:
        """Ids of every run folder, oldest first."""
        if not self.root.is_dir():
            return []
        return sorted(e.name for e in os.scandir(self.root)
                      if e.is_dir() and not e.name.startswith("."))

    def __len__(self) -> int:
        return len(self.run_ids())

    def __contains__(self, run_id: object) -> bool:
        return isinstance(run_id, str) and (self.root / run_id / "config.json").is_file()

    def _index(self) -> dict[str, dict[str, Any]]:
        out: dict[str, dict[str, Any]] = {}
        p = self.root / INDEX
        if not p.is_file():
            return out
        with open(p, encoding="utf-8") as f:
            for line in f:
                if not line.endswith("\n"):
                    break  # a line still being written, or cut by a crash
                try:
                    rec = json.loads(line)
                    out[rec["run_id"]] = rec
                except (json.JSONDecodeError, KeyError, TypeError):
                    continue
        return out

    def _status(self, run_dir: Path) -> dict[str, Any]:
        st = _read_json(run_dir / "status.json")
        if not isinstance(st, dict) or st.get("status") not in STATUSES:
            return {"status": "incomplete"}
        if st["status"] == "running":
            same_host = st.get("host") == socket.gethostname()
            if same_host and not _pid_alive(int(st.get("pid", -1))):
                st = {**st, "status": "incomplete"}
        return st

    def _record_from_folder(self, run_id: str) -> dict[str, Any]:
        """A run's record from its files, each parsed as untrusted: a malformed file makes
        the run ``unreadable`` with the reason, never an exception."""
        d = self.root / run_id
        st = self._status(d)
        cfg, why = read_json_checked(d / "config.json")
        problems = [why] if why else []
        if why is None and cfg is not None and not isinstance(cfg, dict):
            problems.append("config.json: not a mapping of config fields")
        elif isinstance(cfg, dict):
            try:
                ExperimentConfig.from_dict(cfg)
            except Exception as e:
                problems.append(f"config.json: {str(e)[:200]}")
        metrics = None
        if st["status"] != "running":
            metrics, why = read_json_checked(d / "metrics.json")
            if why:
                problems.append(why)
            elif metrics is not None and not isinstance(metrics, dict):
                problems.append("metrics.json: not a mapping of metric names to values")
        status, error = st["status"], st.get("error")
        if problems:
            status, error = "unreadable", "; ".join(problems)
        return {"run_id": run_id, "status": status, "started_at": st.get("started_at"),
                "ended_at": st.get("ended_at"), "config": cfg if isinstance(cfg, dict) else {},
                "metrics": metrics if isinstance(metrics, dict) else {}, "error": error}

    def records(self) -> list[dict[str, Any]]:
        """One dict per run (run_id, status, config, metrics...), oldest first."""
        index = self._index()
        out = []
        for run_id in self.run_ids():
            rec = index.get(run_id)
            out.append(rec if rec is not None else self._record_from_folder(run_id))
        return out

    def table(self) -> Any:
        """A DataFrame with one row per run: run_id, status, config columns, final metrics.

        Example:
            >>> import workbench as wb, tempfile
            >>> list(wb.RunStore(tempfile.mkdtemp()).table().columns)[:2]
            ['run_id', 'status']
        """
        import pandas as pd

        rows = []
        for rec in self.records():
            row = {"run_id": rec["run_id"], "status": rec["status"],
                   "started_at": rec.get("started_at")}
            row.update(rec.get("config") or {})
            row.update(rec.get("metrics") or {})
            if rec.get("error"):
                row["error"] = rec["error"]
            rows.append(row)
        df = pd.DataFrame(rows, columns=None if rows else ["run_id", "status", "started_at"])
        if "started_at" in df and len(df):
            df["started_at"] = pd.to_datetime(df["started_at"], unit="s", errors="coerce")
        return df

    def load(self, run_id: str, model: bool = False) -> RunResult:
        """Load a run (its model only when ``model=True``).

        Example:
            >>> import workbench as wb
            >>> store = wb.RunStore("runs")                    # doctest: +SKIP
            >>> r = store.load(store.run_ids()[-1], model=True)  # doctest: +SKIP
        """
        import pandas as pd

        d = self.root / run_id
        if run_id not in self:
            known = self.run_ids()
            raise StoreError(f"no run {run_id!r} in {str(self.root)!r}"
                             + (f"; latest runs: {', '.join(known[-5:])}" if known else
                                " (the store is empty)"))
        rec = self._record_from_folder(run_id)
        if rec["status"] == "unreadable":
            raise StoreError(f"run {run_id!r} is unreadable: {rec['error']}")
        try:
            cfg = ExperimentConfig.from_dict(rec["config"])
        except Exception as e:
            raise StoreError(f"run {run_id!r} has an unreadable config.json: {e}") from None
        hist_path = d / "history.csv"
        history = pd.read_csv(hist_path) if hist_path.is_file() else pd.DataFrame()
        from workbench.sinks.jsonl import read_events

        m = None
        if model and (d / artifact_name("keras")).is_file():
            from workbench._tf import keras

            try:  # safe mode: a Lambda layer's code in a copied folder is never run
                m = keras.saving.load_model(d / artifact_name("keras"), compile=False,
                                            safe_mode=True)
            except Exception as e:
                raise StoreError(f"run {run_id!r} has an unloadable model.keras "
                                 f"({type(e).__name__}: {str(e).splitlines()[0][:200]})"
                                 ) from None
        return RunResult(config=cfg, history=history, metrics=rec["metrics"],
                         status=rec["status"], run_id=run_id, run_dir=d, model=m,
                         error=rec.get("error"), events=read_events(d),
                         data_record=read_data_record(d))

    def delete(self, run_id: str) -> None:
        """Remove a run's folder (its index line is ignored from then on)."""
        if run_id not in self:
            raise StoreError(f"no run {run_id!r} in {str(self.root)!r}")
        shutil.rmtree(self.root / run_id)
