"""Scale-out against real servers on 127.0.0.1: a search shared by worker processes on a
throwaway PostgreSQL cluster (system tier: Debian's ``postgresql``, which `make test` installs
as root), with one worker killed mid-trial; one model trained by two processes."""

from __future__ import annotations

import glob
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from tests.conftest import ROOT, require_system, run_cli


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def postgres_url():
    """A fresh PostgreSQL cluster on a free port (trust auth, fsync off), stopped afterwards.
    The server refuses to run as root, so as root it runs as Debian's ``postgres`` user."""
    bins = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    try:
        import psycopg  # noqa: F401  (the driver the plain postgresql:// URL needs)
        has_driver = True
    except ImportError:
        has_driver = False
    require_system(bool(bins) and has_driver, "PostgreSQL (Debian's postgresql and psycopg)")
    bindir = Path(bins[-1]).parent
    root = Path(tempfile.mkdtemp(prefix="wb-pg-"))  # not under pytest's 0700 root folder
    as_user: list[str] = []
    if os.geteuid() == 0:
        shutil.chown(root, "postgres")
        as_user = ["runuser", "-u", "postgres", "--"]
    data, port = root / "data", _free_port()
    subprocess.run([*as_user, bindir / "initdb", "-D", data, "--auth=trust", "-U", "postgres",
                    "-E", "UTF8"], check=True, capture_output=True)
    opts = f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off"
    subprocess.run([*as_user, bindir / "pg_ctl", "-D", data, "-w", "-l", root / "log", "-o",
                    opts, "start"], check=True, capture_output=True)
    try:
        subprocess.run([bindir / "createdb", "-h", "127.0.0.1", "-p", str(port), "-U",
                        "postgres", "wb"], check=True, capture_output=True)
        yield f"postgresql://postgres@127.0.0.1:{port}/wb"
    finally:
        subprocess.run([*as_user, bindir / "pg_ctl", "-D", data, "-m", "immediate", "stop"],
                       capture_output=True)
        shutil.rmtree(root, ignore_errors=True)


@pytest.mark.system
@pytest.mark.slow
def test_workers_share_a_postgresql_study_and_survive_a_kill(postgres_url, tmp_path):
    """Two workers on one PostgreSQL study (both ``--sampler-seed 0``, each with its own run
    folder, as on two machines); one is ``kill -9``'d mid-trial. A worker started after the
    heartbeat's grace period fails that trial and runs its point again. At the end no trial is
    RUNNING, every point but the retried one is distinct, and each store agrees with the study."""
    import optuna

    import workbench as wb
    from workbench.search_storage import GRACE_S

    space = tmp_path / "space.yaml"
    space.write_text("optimizer: [adam, sgd]\nprune_ratio: {uniform: [0, 0.9]}\n")

    def worker(name: str, trials: int, epochs: int) -> list[str]:
        return [sys.executable, "-m", "workbench", "search", "--space", str(space), "--sampler",
                "random", "--objective", "test_accuracy:max", "--study", "pg",
                "--runs-dir", str(tmp_path / name), "--dataset", "digits",
                "--max-train-samples", "300", "--hidden-units", "16",
                "--trials", str(trials), "--epochs", str(epochs)]

    env = {**os.environ, "WORKBENCH_STORAGE": postgres_url}
    quick = subprocess.Popen(worker("a", 3, 1), cwd=ROOT, env=env, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
    doomed = subprocess.Popen(worker("b", 1, 5000), cwd=ROOT, env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, err = quick.communicate(timeout=300)
    assert quick.returncode == 0, err[-2000:]
    doomed_trials, deadline = [], time.monotonic() + 120
    while not doomed_trials and time.monotonic() < deadline:  # the slow worker's one trial
        doomed_trials = [t for t in optuna.load_study(study_name="pg", storage=postgres_url)
                         .trials if t.state.name == "RUNNING"]
        time.sleep(1)
    assert len(doomed_trials) == 1 and doomed.poll() is None, "the slow worker never started"
    time.sleep(2)  # mid-training
    os.kill(doomed.pid, signal.SIGKILL)
    doomed.wait()
    time.sleep(GRACE_S + 1)  # its heartbeat is now stale
    r = subprocess.run(worker("c", 2, 1), cwd=ROOT, env=env, capture_output=True, text=True,
                       timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]

    trials = optuna.load_study(study_name="pg", storage=postgres_url).trials
    states = [t.state.name for t in trials]
    assert "RUNNING" not in states and len(trials) == 6, states
    killed = trials[doomed_trials[0].number]
    assert killed.state.name == "FAIL"
    retried = [t for t in trials if t.system_attrs.get("failed_trial") == killed.number]
    assert len(retried) == 1 and retried[0].state.name == "COMPLETE"
    assert retried[0].params == killed.params  # the same point, run again
    points = [tuple(sorted(t.params.items())) for t in trials if t is not retried[0]]
    assert len(set(points)) == len(points), points  # same --sampler-seed, yet no repeats

    by_run = {t.user_attrs["run_id"]: t.state.name for t in trials if "run_id" in t.user_attrs}
    for name in "abc":
        for run in wb.RunStore(tmp_path / name).records():
            if run["run_id"] in by_run:
                assert (by_run[run["run_id"]], run["status"]) == ("COMPLETE", "completed")
            else:  # the killed worker's run: its writer died with it
                assert (name, run["status"]) == ("b", "incomplete")
    assert len(by_run) == 5


# --- one model trained by two processes (MultiWorkerMirroredStrategy on 127.0.0.1) ---

def test_multi_worker_without_tf_config_is_a_clear_error(tmp_path, monkeypatch):
    import workbench as wb
    from workbench.training.distribute import tf_config

    monkeypatch.delenv("TF_CONFIG", raising=False)
    with pytest.raises(wb.ConfigError, match=r"TF_CONFIG.*--workers N"):
        wb.run(dict(dataset="digits", strategy="multi_worker"), store=tmp_path, verbose=False)
    assert not any(tmp_path.iterdir())  # nothing written
    with pytest.raises(wb.ConfigError, match="could not read it"):
        tf_config({"TF_CONFIG": "{not json"})
    with pytest.raises(wb.ConfigError, match="within its 2 workers"):
        tf_config({"TF_CONFIG": '{"cluster": {"worker": ["a:1", "b:2"]}, '
                                '"task": {"type": "worker", "index": 2}}'})
    r = run_cli("train", "--workers", "0", "--dataset", "digits")
    assert r.returncode == 2 and "workers" in r.stderr and ">= 2" in r.stderr


@pytest.mark.slow
def test_two_processes_train_one_model_as_well_as_one(tmp_path):
    """`workbench train --workers 2`: two processes on 127.0.0.1 train one model (the global
    batch split between them); rank 0 alone records it, and it scores within 1 point of the
    same config trained by one process."""
    import workbench as wb

    args = ["--dataset", "digits", "--epochs", "5", "--seed", "3"]
    r = run_cli("train", "--workers", "2", *args, "--runs-dir", str(tmp_path / "two"),
                timeout=240)
    assert r.returncode == 0, r.stderr[-3000:]
    assert "training on 2 replicas (multi_worker strategy)" in r.stdout
    (two,) = wb.RunStore(tmp_path / "two").records()  # rank 1 recorded nothing
    assert two["status"] == "completed" and two["metrics"]["replicas"] == 2
    assert two["config"]["strategy"] == "multi_worker"
    one = wb.run(dict(dataset="digits", epochs=5, seed=3), store=False, verbose=False)
    assert abs(two["metrics"]["test_accuracy"] - one.metrics["test_accuracy"]) <= 0.01
