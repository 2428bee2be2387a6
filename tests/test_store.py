"""RunStore: atomic files, index as a cache, crash safety (fast tier: no TensorFlow)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pandas as pd
import pytest

import workbench as wb
from tests.conftest import ROOT
from workbench.runs import INDEX, RunStore


def _fake_run(store: RunStore, i: int, status: str = "completed") -> str:
    cfg = wb.ExperimentConfig(run_name=f"r{i}", seed=i)
    w = store.start(cfg)
    w.write_history(pd.DataFrame({"epoch": [1, 2], "loss": [1.0, 0.5]}))
    metrics = {"test_accuracy": 0.5 + i / 1000, "params": 10}
    w.write_metrics(metrics)
    w.finish(status, metrics)
    return w.run_id


def test_table_and_load(store):
    ids = [_fake_run(store, i) for i in range(3)]
    df = store.table()
    assert list(df.run_id) == sorted(ids)
    assert {"status", "dataset", "optimizer", "test_accuracy"} <= set(df.columns)
    r = store.load(ids[1])
    assert r.config.seed == 1 and r.status == "completed" and list(r.history.loss) == [1.0, 0.5]
    assert r.model is None
    with pytest.raises(wb.StoreError, match="no run 'nope'"):
        store.load("nope")


def test_index_is_only_a_cache(store):
    ids = [_fake_run(store, i) for i in range(3)]
    (store.root / INDEX).unlink()
    assert list(store.table().test_accuracy) == [0.5, 0.501, 0.502]
    with open(store.root / INDEX, "a") as f:
        f.write('{"run_id": "broken", "sta')  # a half-written last line
    assert len(store.table()) == 3
    store.delete(ids[0])
    assert list(store.table().run_id) == ids[1:]


def test_dead_writer_shows_incomplete_and_live_one_running(store):
    w = store.start(wb.ExperimentConfig())
    assert store.table().status.tolist() == ["running"]
    st = json.loads((w.dir / "status.json").read_text())
    st["pid"] = 2**22 + 12345  # no such process
    (w.dir / "status.json").write_text(json.dumps(st))
    assert store.table().status.tolist() == ["incomplete"]
    (w.dir / "status.json").unlink()
    assert store.table().status.tolist() == ["incomplete"]


def test_no_temp_files_left_and_nothing_written_before_start(tmp_path):
    store = RunStore(tmp_path / "s")
    assert store.table().empty and not (tmp_path / "s").exists()
    _fake_run(store, 0)
    leftovers = [p for p in store.root.rglob("*") if ".tmp" in p.name]
    assert leftovers == []


WRITER = r"""
import sys, pandas as pd, workbench as wb
store = wb.RunStore(sys.argv[1])
hist = pd.DataFrame({"epoch": range(2000), "loss": [0.1] * 2000})
i = 0
print("ready", flush=True)
while True:
    w = store.start(wb.ExperimentConfig(seed=i % 1000))
    w.write_history(hist)
    w.write_metrics({"test_accuracy": 0.9, "blob": "x" * 20000})
    w.finish("completed", {"test_accuracy": 0.9})
    i += 1
"""


@pytest.mark.parametrize("delay", [0.3, 0.7, 1.1])
def test_writer_killed_mid_write_leaves_a_loadable_store(tmp_path, delay):
    root = tmp_path / "runs"
    p = subprocess.Popen([sys.executable, "-c", WRITER, str(root)], cwd=ROOT,
                         stdout=subprocess.PIPE, text=True)
    assert p.stdout.readline().strip() == "ready"
    time.sleep(delay)
    os.kill(p.pid, signal.SIGKILL)
    p.wait()
    store = RunStore(root)
    df = store.table()
    assert len(df) >= 1
    assert set(df.status) <= {"completed", "incomplete"}
    for run_id in df.run_id:
        if run_id in store:
            r = store.load(run_id)  # every file that exists parses
            assert r.status in ("completed", "incomplete")
    completed = df[df.status == "completed"]
    assert (completed.test_accuracy == 0.9).all()
