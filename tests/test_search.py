"""Search on Optuna: bad input (fast), tiny real searches with every sampler, Pareto fronts,
resume, two processes on one SQLite study, failed trials (keras tier)."""

from __future__ import annotations

import subprocess
import sys

import pytest

import workbench as wb
from tests.conftest import ROOT
from workbench.figures import pareto_front

TINY = dict(dataset="digits", model="mlp", hidden_units=[16], epochs=1, max_train_samples=300,
            export=[])
SPACE = {"optimizer": ["adam", "sgd"], "learning_rate": wb.loguniform(1e-3, 1e-1),
         "prune_ratio": wb.uniform(0.0, 0.9), "hidden_units": [[16], [32, 16]]}


# --- bad input: clear errors, nothing written ---

@pytest.mark.parametrize("space,match", [
    ({}, "non-empty mapping"),
    ({"optimiser": ["adam"]}, "did you mean 'optimizer'"),
    ({"optimizer": wb.uniform(0, 1)}, "a list of values"),
    ({"learning_rate": wb.loguniform(0, 0.1)}, "both bounds > 0"),
    ({"learning_rate": wb.uniform(0.1, 0.01)}, "low < high"),
    ({"optimizer": ["adam", "adamm"]}, "did you mean 'adam'"),
    ({"epochs": []}, "non-empty list")])
def test_bad_spaces(space, match):
    with pytest.raises(wb.ConfigError, match=match):
        wb.SearchSpace(space)


@pytest.mark.parametrize("objectives,match", [
    (["accuracy:max"], "did you mean 'test_accuracy'"), (["test_accuracy:up"], "max or"),
    ([], "at least one")])
def test_bad_objectives(objectives, match, tmp_path):
    with pytest.raises(wb.ConfigError, match=match):
        wb.search(TINY, SPACE, objectives, storage=None, store=tmp_path / "runs")
    assert not (tmp_path / "runs").exists()


def test_bad_storage_and_sampler(tmp_path):
    with pytest.raises(wb.ConfigError, match="storage"):
        wb.search(TINY, SPACE, "test_accuracy:max", storage="postgresql://x@127.0.0.1:1/db",
                  store=tmp_path / "runs", n_trials=1)
    import importlib.util

    with pytest.raises(wb.ConfigError) as e:
        wb.search(TINY, SPACE, "test_accuracy:max", store=tmp_path / "runs", n_trials=1,
                  storage="postgresql://ana:s3cret@127.0.0.1:1/db")
    message = str(e.value)
    assert "s3cret" not in message and "ana:***@" in message  # the password never shows
    if importlib.util.find_spec("psycopg") is None:  # the plain URL's driver names its package
        assert "nn-workbench[postgres]" in message
    with pytest.raises(wb.ConfigError, match="did you mean 'nsga2'"):
        wb.search(TINY, SPACE, sampler="nsga", storage=None, store=tmp_path / "runs")
    with pytest.raises(wb.ConfigError, match="no finite grid"):
        wb.search(TINY, SPACE, sampler="grid", storage=None, store=tmp_path / "runs")


def test_space_from_yaml(tmp_path):
    p = tmp_path / "space.yaml"
    p.write_text("optimizer: [adam, sgd]\nlearning_rate: {loguniform: [0.0001, 0.1]}\n"
                 "epochs: {int: [2, 10, 2]}\nhidden_units: [[64], [128, 64]]\n")
    space = wb.SearchSpace.from_yaml(p)
    assert space.params["learning_rate"] == wb.loguniform(0.0001, 0.1)
    assert space.params["epochs"] == wb.intrange(2, 10, 2)
    assert space.params["hidden_units"] == [(64,), (128, 64)]


# --- real searches ---

@pytest.mark.keras
@pytest.mark.parametrize("sampler", ["random", "tpe", "cmaes", "nsga2"])
def test_every_sampler_runs_a_tiny_search(sampler, tmp_path):
    store = wb.RunStore(tmp_path / "runs")
    res = wb.search(TINY, SPACE, "test_accuracy:max", sampler=sampler, n_trials=3,
                    storage=f"sqlite:///{tmp_path}/s.db", store=store, progress=False)
    df = res.table()
    assert len(df) == 3 and set(df.state) <= {"COMPLETE", "PRUNED"}
    assert all(run_id in store for run_id in df.run_id)  # every trial is an ordinary run
    assert len(store) == 3


@pytest.mark.keras
def test_grid_covers_every_combination(tmp_path):
    res = wb.search(TINY, {"optimizer": ["adam", "sgd"], "hidden_units": [[8], [16]]},
                    "test_accuracy:max", sampler="grid", n_trials=10, storage=None,
                    store=tmp_path / "runs", progress=False, prune=False)
    df = res.table()
    assert len(df) == 4
    assert {(o, tuple(h)) for o, h in zip(df.optimizer, df.hidden_units, strict=True)} == {
        ("adam", (8,)), ("adam", (16,)), ("sgd", (8,)), ("sgd", (16,))}


def test_gp_without_pytorch_is_a_clear_error(tmp_path):
    import importlib.util

    if importlib.util.find_spec("torch") is not None:
        pytest.skip("PyTorch is installed here: gp works")
    with pytest.raises(wb.ConfigError, match="PyTorch"):
        wb.search(TINY, SPACE, "test_accuracy:max", sampler="gp", storage=None,
                  store=tmp_path / "runs")


@pytest.mark.keras
def test_gp_sampler_runs_with_pytorch(tmp_path):
    pytest.importorskip("torch", reason="gp needs PyTorch (setup installs a local CPU wheel)")
    res = wb.search(TINY, SPACE, "test_accuracy:max", sampler="gp", n_trials=4, storage=None,
                    store=tmp_path / "runs", progress=False, prune=False, seed=0)
    df = res.table()
    assert len(df) == 4 and (df.state == "COMPLETE").all()
    best = res.pareto()
    assert len(best) == 1 and best.test_accuracy[0] == df.test_accuracy.max()


@pytest.mark.keras
def test_two_objectives_give_a_non_dominated_front_and_resume(tmp_path):
    url = f"sqlite:///{tmp_path}/s.db"
    kw = dict(sampler="nsga2", storage=url, study_name="front", store=tmp_path / "runs",
              progress=False)
    res = wb.search(TINY, SPACE, ["test_accuracy:max", "size_bytes_packed:min"], n_trials=4,
                    **kw)
    front = res.pareto()
    done = res.table()
    done = done[done.state == "COMPLETE"]
    idx = pareto_front(done.size_bytes_packed.tolist(), done.test_accuracy.tolist())
    assert sorted(done.iloc[idx].trial) == sorted(front.trial)
    assert "pareto" in res.figures()
    again = wb.search(TINY, SPACE, ["test_accuracy:max", "size_bytes_packed:min"], n_trials=2,
                      **kw)
    assert len(again.table()) == 6  # the same study continued


@pytest.mark.keras
def test_failed_trials_are_recorded_and_the_search_goes_on(tmp_path):
    space = {"distill_teacher": ["no-such-run", None]}  # the first trial's run cannot start
    res = wb.search(TINY, space, "test_accuracy:max", sampler="grid", n_trials=2,
                    storage=None, store=tmp_path / "runs", progress=False, prune=False)
    df = res.table()
    states = dict(zip(df.distill_teacher.fillna("none"), df.state, strict=True))
    assert states == {"no-such-run": "FAIL", "none": "COMPLETE"}


@pytest.mark.keras
def test_two_processes_share_one_sqlite_study_without_repeating_a_trial(tmp_path):
    import os

    space = tmp_path / "space.yaml"
    space.write_text("optimizer: [adam, sgd]\nprune_ratio: {uniform: [0, 0.9]}\n")
    url = f"sqlite:///{tmp_path}/shared.db"
    cmd = [sys.executable, "-m", "workbench", "search", "--space", str(space), "--sampler",
           "random", "--trials", "2", "--objective", "test_accuracy:max", "--study", "shared",
           "--runs-dir", str(tmp_path / "runs"), "--dataset", "digits", "--epochs", "1",
           "--max-train-samples", "300", "--hidden-units", "16"]  # both: --sampler-seed 0
    procs = [subprocess.Popen([*cmd, "--storage", url], cwd=ROOT, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True),
             subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True, env={**os.environ, "WORKBENCH_STORAGE": url})]
    outs = [p.communicate(timeout=300) for p in procs]
    assert all(p.returncode == 0 for p in procs), [o[1][-2000:] for o in outs]
    import optuna

    study = optuna.load_study(study_name="shared", storage=url)
    assert len(study.trials) == 4
    ratios = [t.params["prune_ratio"] for t in study.trials]
    assert len(set(ratios)) == 4, ratios  # same --sampler-seed, yet every point is new
    seeds = {v for k, v in study.user_attrs.items() if k.startswith("sampler_seed:")}
    assert len(seeds) == 2  # each worker's own seed, recorded in the study
    assert len(wb.RunStore(tmp_path / "runs")) == 4
    from workbench.hpsearch import SearchResult, parse_objectives

    table = SearchResult(study, parse_objectives("test_accuracy")).table()
    assert table.host.notna().all() and table.size_bytes_float32.notna().all()  # from the study


@pytest.mark.slow
def test_a_killed_workers_trial_is_failed_and_run_again(tmp_path):
    """kill -9 a worker mid-trial: its trial stops beating; the next worker to start a trial
    after the grace period marks it failed and runs its parameters again."""
    import os
    import signal
    import time

    import optuna

    from workbench.search_storage import GRACE_S

    space = tmp_path / "space.yaml"
    space.write_text("prune_ratio: {uniform: [0, 0.9]}\n")
    url = f"sqlite:///{tmp_path}/hb.db"
    cmd = [sys.executable, "-m", "workbench", "search", "--space", str(space), "--sampler",
           "random", "--objective", "test_accuracy:max", "--storage", url, "--study", "hb",
           "--runs-dir", str(tmp_path / "runs"), "--dataset", "digits",
           "--max-train-samples", "300", "--hidden-units", "16"]
    slow = subprocess.Popen([*cmd, "--trials", "1", "--epochs", "5000"], cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    running = []
    while not running and time.monotonic() < deadline:
        time.sleep(1)
        try:
            trials = optuna.load_study(study_name="hb", storage=url).trials
        except Exception:  # the first worker is still creating the study
            continue
        running = [t for t in trials if t.state == optuna.trial.TrialState.RUNNING]
    assert running, "the first worker never started its trial"
    time.sleep(2)  # mid-training
    os.kill(slow.pid, signal.SIGKILL)
    slow.wait()
    time.sleep(GRACE_S + 1)  # its heartbeat is now stale
    r = subprocess.run([*cmd, "--trials", "2", "--epochs", "1"], cwd=ROOT, capture_output=True,
                       text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    trials = optuna.load_study(study_name="hb", storage=url).trials
    states = [t.state.name for t in trials]
    assert "RUNNING" not in states, states
    killed = trials[running[0].number]
    assert killed.state.name == "FAIL"
    retried = [t for t in trials if t.system_attrs.get("failed_trial") == killed.number]
    assert retried and retried[0].state.name == "COMPLETE"
    assert retried[0].params == killed.params  # the same point, run again


@pytest.mark.keras
def test_search_view_fills_the_pareto_chart_and_stops(tmp_path):
    panel = wb.widgets.ControlPanel(store=tmp_path / "runs")
    view = wb.widgets.SearchView(wb.ExperimentConfig(**TINY),
                                 {"prune_ratio": wb.uniform(0, 0.9)}, store=tmp_path / "runs",
                                 panel=panel)
    view.trials.value = 50
    view.start()
    import time

    deadline = time.monotonic() + 120
    while getattr(view, "done", 0) < 2 and time.monotonic() < deadline:
        time.sleep(0.2)
    assert view.stop() is True
    view.wait(120)
    assert 2 <= view.done < 50 and "stopped after" in view.status_html.value
    shown = [c for t in view.compare.pareto_fig.data for c in (t.customdata or [])]
    assert len(shown) == view.done
    view.compare.show(shown[0])
    view.compare._load_selected()  # into the control panel
    assert panel.config.prune_ratio == wb.RunStore(tmp_path / "runs").load(
        shown[0]).config.prune_ratio


@pytest.mark.notebook
def test_search_notebook_runs_headless(tmp_path):
    r = wb.run_notebook(ROOT / "notebooks" / "07_search.ipynb",
                        {"trials": 3, "epochs": 1, "sampler": "nsga2"}, tmp_path / "nb")
    assert r.status == "completed", r.error
    assert r.results["trials"] == 3 and r.results["pareto_size"] >= 1


@pytest.mark.keras
def test_a_pruned_trial_is_pruned_in_the_store_too(tmp_path):
    """Three sound trials, then one at a hopeless learning rate: the median pruner stops it
    after its first epoch, and its run is recorded as pruned, not completed."""
    base = {**TINY, "epochs": 3, "validation_split": 0.2, "optimizer": "momentum",
            "learning_rate": 0.1}
    url, store = f"sqlite:///{tmp_path}/p.db", tmp_path / "runs"
    wb.search(base, {"momentum": [0.0, 0.5, 0.9]}, "test_accuracy:max", sampler="grid",
              n_trials=3, storage=url, study_name="p", store=store, progress=False)
    res = wb.search(base, {"learning_rate": [1e-7]}, "test_accuracy:max", sampler="random",
                    n_trials=1, storage=url, study_name="p", store=store, progress=False)
    table = res.table()
    assert list(table.state) == ["COMPLETE"] * 3 + ["PRUNED"]
    statuses = {r["run_id"]: r["status"] for r in wb.RunStore(store).records()}
    agree = {"COMPLETE": "completed", "PRUNED": "pruned"}
    assert [statuses[i] for i in table.run_id] == [agree[s] for s in table.state]
