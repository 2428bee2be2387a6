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


# --- sweeps on a real Dask cluster whose workers cannot see the client's folders ---

TINY = ROOT / "tests" / "data" / "tiny.ipynb"


@pytest.fixture
def hidden_cluster(tmp_path):
    """``dask scheduler`` and 2 ``dask worker`` processes on 127.0.0.1. Each worker runs in a
    private mount namespace with an empty tmpfs over ``tmp_path/client``: the client's
    notebook and output folder do not exist for them (no shared disk)."""
    dask = Path(sys.executable).parent / "dask"
    can = os.geteuid() == 0 and shutil.which("unshare") is not None and dask.exists()
    require_system(can, "root, unshare (util-linux) and the dask CLI")
    client_dir = tmp_path / "client"
    client_dir.mkdir()
    port = _free_port()
    address = f"tcp://127.0.0.1:{port}"
    quiet = {**os.environ, "DASK_LOGGING__DISTRIBUTED": "error"}
    procs = [subprocess.Popen([dask, "scheduler", "--host", "127.0.0.1", "--port", str(port),
                               "--no-dashboard"], env=quiet, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)]
    for i in range(2):
        script = (f"mount -t tmpfs none {client_dir} && exec {dask} worker {address} "
                  f"--name w{i} --nthreads 1 --no-nanny --no-dashboard")
        procs.append(subprocess.Popen(["unshare", "-m", "sh", "-c", script], env=quiet,
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
    from distributed import Client

    try:
        with Client(address, timeout=30) as c:
            c.wait_for_workers(2, timeout=60)
            seen = c.run(os.path.exists, str(client_dir / "anything"))
            assert len(seen) == 2
        yield address, client_dir, procs[1:]
    finally:
        for p in procs:
            p.kill()
            p.wait()


def _dask_sweep_with_two_runs_going(address: str, out: Path, sleep: float
                                    ) -> subprocess.Popen[str]:
    """`workbench sweep --executor dask` of 4 runs that sleep, once both workers run one."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "workbench", "sweep", str(TINY), "-o", str(out), "--grid",
         "x=1,2,3,4", "-p", "sleep", str(sleep), "--executor", "dask", "--scheduler", address],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while len(_worker_children()) < 2 and time.monotonic() < deadline:
        time.sleep(0.3)
    assert len(_worker_children()) >= 2, "the workers never started their runs"
    return proc


def _worker_children() -> list[str]:
    return subprocess.run(["pgrep", "-f", "wb-sweep-"], capture_output=True,
                          text=True).stdout.split()


@pytest.mark.system
@pytest.mark.notebook
def test_a_dask_sweep_needs_no_shared_disk(hidden_cluster):
    from distributed import Client

    import workbench as wb

    address, client_dir, _ = hidden_cluster
    nb = client_dir / "tiny.ipynb"
    shutil.copy(TINY, nb)
    only_here = client_dir / "only-on-the-client.txt"
    only_here.write_text("the workers cannot read this")
    with Client(address) as c:  # the workers really cannot see the client's folder
        assert list(c.run(os.path.exists, str(nb)).values()) == [False, False]
    runs = [{"x": x} for x in (1, 2, 3, 4)] + [{"x": 5, "need_file": str(only_here)}]
    df = wb.sweep(nb, runs=runs, output_dir=client_dir / "out", executor="dask",
                  scheduler=address, progress=False)
    assert list(df.status) == ["completed"] * 4 + ["failed"]
    assert sorted(df.test_accuracy.dropna()) == [0.1, 0.2, 0.3, 0.4]
    for run in df.run[:4]:
        folder = client_dir / "out" / run
        assert {"notebook.ipynb", "notebook.html", "params.json", "results.json",
                "status.json"} <= {p.name for p in folder.iterdir()}
    assert (client_dir / "out" / "_assets" / "plotly.min.js").exists()  # the pages' script
    assert "FileNotFoundError" in df.error[4] and str(only_here) in df.error[4]  # real text
    # past the return cap: failed with the size, its status and results still back
    capped = wb.sweep(nb, runs=[{"x": 6}], output_dir=client_dir / "capped", executor="dask",
                      scheduler=address, progress=False, max_return_mb=0.05)
    assert capped.status[0] == "failed" and "over the 0.1 MB" in capped.error[0]
    assert capped.test_accuracy[0] == pytest.approx(0.6)


@pytest.mark.system
@pytest.mark.notebook
@pytest.mark.slow
def test_a_dask_sweep_survives_a_killed_worker(hidden_cluster):
    address, client_dir, workers = hidden_cluster
    out = client_dir / "out"
    proc = _dask_sweep_with_two_runs_going(address, out, sleep=4)
    time.sleep(1)
    workers[0].kill()  # kill -9, mid-run
    stdout, stderr = proc.communicate(timeout=240)
    assert proc.returncode == 0, stderr[-2000:]
    assert "Traceback" not in stderr
    import pandas as pd

    df = pd.read_csv(out / "results.csv")
    assert len(df) == 4
    lost = df[df.status != "completed"]
    named = [e for e in lost.error.astype(str) if "KilledWorker" in e]
    assert len(named) == len(lost), lost.to_dict("records")  # rescheduled, or named
    assert f"{4 - len(lost)} of 4 runs completed" in stdout


@pytest.mark.system
@pytest.mark.notebook
@pytest.mark.slow
def test_ctrl_c_on_a_dask_sweep_stops_the_remote_runs(hidden_cluster):
    address, client_dir, _ = hidden_cluster
    out = client_dir / "out"
    proc = _dask_sweep_with_two_runs_going(address, out, sleep=120)
    time.sleep(4)  # inside the sleeping cell
    t0 = time.monotonic()
    proc.send_signal(signal.SIGINT)
    _, stderr = proc.communicate(timeout=90)
    assert proc.returncode == 130, stderr[-2000:]
    assert "Traceback" not in stderr
    assert time.monotonic() - t0 < 45  # the remote notebooks were stopped, not waited for
    import pandas as pd

    df = pd.read_csv(out / "results.csv")
    # the 2 running runs are interrupted (or cancelled, if the Ctrl-C came while their process
    # was still starting, on a loaded machine); the 2 queued ones are cancelled
    assert len(df) == 4 and set(df.status) <= {"interrupted", "cancelled"}, df.to_dict("records")
    assert "interrupted" in set(df.status)
    assert "--resume" in " ".join(df.error.dropna())
    time.sleep(2)
    assert _worker_children() == []  # no run keeps going on the workers


@pytest.mark.system
@pytest.mark.notebook
def test_a_dask_sweep_carries_a_data_file_and_folder_to_workers_without_the_disk(
        hidden_cluster, monkeypatch):
    import numpy as np
    from PIL import Image

    import workbench as wb

    address, client_dir, _ = hidden_cluster
    monkeypatch.setenv("XDG_CACHE_HOME", str(client_dir / "cache"))
    nb = client_dir / "load_data.ipynb"
    shutil.copy(ROOT / "tests" / "data" / "load_data.ipynb", nb)
    x = np.random.default_rng(0).random((50, 4, 4, 1)).astype("float32")
    y = np.arange(50) % 2
    np.savez(client_dir / "d.npz", x=x, y=y)
    for i in range(12):
        d = client_dir / "imgs" / f"class_{i % 2}"
        d.mkdir(parents=True, exist_ok=True)
        Image.new("L", (6, 6), 20 * i).save(d / f"{i}.png")
    specs = [str(client_dir / "d.npz"), str(client_dir / "imgs")]
    df = wb.sweep(nb, {"dataset": specs}, output_dir=client_dir / "out", executor="dask",
                  scheduler=address, progress=False)
    assert list(df.status) == ["completed", "completed"], list(df.error)
    assert list(df.n_train) == [40, 10] and list(df.spec) == specs  # recorded as named
    here = wb.load_dataset(specs[0]).fingerprint["train_hash"]
    assert df.train_hash[0] == here  # the same bytes, read on the worker
    with pytest.raises(wb.ConfigError, match=r"d\.npz.*over the 0\.0 MB") as e:
        wb.sweep(nb, {"dataset": specs[:1]}, output_dir=client_dir / "capped",
                 executor="dask", scheduler=address, progress=False, max_data_mb=0.001)
    assert e.value.field == "dataset"
