"""The CLI is a thin adapter: each command turns its flags into one library call.

As papermill's CLI tests do, the library call is patched and the test checks what reaches it
(and what the command prints of the answer), so these run in milliseconds without training.
The end-to-end subprocess runs are in ``test_cli.py``. The table below must name every command
of ``workbench.cli._COMMANDS``: a new command without an adapter test fails here.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pandas as pd
import pytest

import workbench as wb
from workbench import cli


class Recorder:
    """Stands in for a library function: records its call, returns a canned answer."""

    def __init__(self, answer: Any) -> None:
        self.answer = answer
        self.calls: list[tuple[tuple[Any, ...], dict[str, Any]]] = []

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        self.calls.append((args, kwargs))
        return self.answer


def _run_result(tmp_path):
    return SimpleNamespace(run_id="r1", status="completed", run_dir=tmp_path / "r1",
                           metrics={"test_accuracy": 0.9, "test_loss": 0.3, "params": 1234,
                                    "train_time_s": 1.5})


def _notebook_result(tmp_path):
    return SimpleNamespace(status="completed", cell=None, output_dir=tmp_path / "nb",
                           seconds=2.0, error=None, results={"test_accuracy": 0.8})


def _search_result():
    table = pd.DataFrame({"state": ["COMPLETE"], "test_accuracy": [0.9]})
    return SimpleNamespace(study=SimpleNamespace(study_name="s"), table=lambda: table,
                           pareto=lambda: table, objectives=[("test_accuracy", "maximize")])


def _check_train(call, tmp_path):
    (cfg,), kwargs = call
    assert cfg == wb.ExperimentConfig(epochs=3, optimizer="sgd", hidden_units=[16, 8])
    assert kwargs["store"].root == tmp_path / "runs" and kwargs["verbose"] is True


def _check_run_notebook(call, tmp_path):
    (path, params, out), kwargs = call
    assert (path, params, out) == ("nb.ipynb", {"epochs": "2"}, str(tmp_path / "o"))
    assert kwargs["timeout"] == 30.0


def _check_sweep(call, tmp_path):
    (path, grid, out), kwargs = call
    assert path == "nb.ipynb" and out == str(tmp_path / "sw")
    assert grid == {"prune_ratio": ["0", "0.5"], "epochs": ["2"]}  # -p adds a fixed value
    assert (kwargs["workers"], kwargs["executor"], kwargs["resume"]) == (3, "local", False)


def _check_search(call, tmp_path):
    (base, space, objectives), kwargs = call
    assert base == wb.ExperimentConfig(epochs=2)
    assert isinstance(space, wb.SearchSpace) and set(space.params) == {"optimizer"}
    assert objectives == ["test_accuracy:max"]
    assert (kwargs["sampler"], kwargs["n_trials"], kwargs["seed"]) == ("random", 5, 7)
    assert kwargs["storage"] == "none" and kwargs["study_name"] == "st"  # wb.search: in memory


def _check_report(call, tmp_path):
    (out,), kwargs = call
    assert out == str(tmp_path / "sw")
    assert kwargs == {"title": "Mine", "seed": "run_seed", "rank_within": ["problem"]}


def _check_runs(call, tmp_path):
    assert call == ((), {})


# command -> (argv after the command, patched "module:attr", its answer, check, printed text)
CASES: dict[str, tuple[Any, ...]] = {
    "train": (lambda t: ["--epochs", "3", "--optimizer", "sgd", "--hidden-units", "16,8",
                         "--runs-dir", str(t / "runs")],
              "workbench.training.experiment:run", _run_result, _check_train, "run r1 completed"),
    "run-notebook": (lambda t: ["nb.ipynb", "-o", str(t / "o"), "-p", "epochs", "2",
                                "--timeout", "30"],
                     "workbench.notebooks:run_notebook", _notebook_result, _check_run_notebook,
                     "test_accuracy: 0.8"),
    "sweep": (lambda t: ["nb.ipynb", "-o", str(t / "sw"), "--grid", "prune_ratio=0,0.5", "-p",
                         "epochs", "2", "--workers", "3", "--no-resume"],
              "workbench.notebooks:sweep",
              lambda t: pd.DataFrame({"status": ["completed", "completed"]}), _check_sweep,
              "2 of 2 runs completed"),
    "search": (lambda t: ["--space", str(t / "space.yaml"), "--sampler", "random", "--trials",
                          "5", "--objective", "test_accuracy:max", "--storage", "none",
                          "--study", "st", "--sampler-seed", "7", "--epochs", "2"],
               "workbench.hpsearch:search", lambda t: _search_result(), _check_search,
               "study s: 1 trials"),
    "report": (lambda t: [str(t / "sw"), "--title", "Mine", "--seed", "run_seed",
                          "--rank-within", "problem"],
               "workbench.reporting:report",
               lambda t: str(t / "sw" / "index.html"), _check_report, "index.html"),
    "runs": (lambda t: ["--runs-dir", str(t / "runs")], "workbench.runs:RunStore.table",
             lambda t: pd.DataFrame({"run_id": ["r9"], "status": ["completed"]}), _check_runs,
             "r9"),
}
# these two list a registry, with nothing to patch: their check is what they print
LISTINGS = {"datasets": ("digits", "fashion_mnist"), "models": ("lenet5", "small_cnn")}


def test_every_command_has_an_adapter_test():
    assert set(CASES) | set(LISTINGS) == set(cli._COMMANDS)


@pytest.mark.parametrize("command", sorted(CASES))
def test_the_command_passes_its_flags_to_the_library(command, tmp_path, monkeypatch, capsys):
    argv, target, answer, check, printed = CASES[command]
    (tmp_path / "space.yaml").write_text("optimizer: [adam, sgd]\n")
    module, _, attr = target.partition(":")
    owner: Any = __import__(module, fromlist=["_"])
    *path, name = attr.split(".")
    for part in path:
        owner = getattr(owner, part)
    fake = Recorder(answer(tmp_path))
    if path:  # a method: the recorder is called without the instance
        monkeypatch.setattr(owner, name, lambda self, *a, **k: fake(*a, **k))
    else:
        monkeypatch.setattr(owner, name, fake)
    code = cli.main([command, *argv(tmp_path)])
    assert len(fake.calls) == 1
    check(fake.calls[0], tmp_path)
    assert code == 0
    assert printed in capsys.readouterr().out


@pytest.mark.parametrize("command", sorted(LISTINGS))
def test_the_listing_commands_print_their_registry(command, capsys):
    assert cli.main([command]) == 0
    out = capsys.readouterr().out
    assert all(name in out for name in LISTINGS[command])


def test_a_library_error_is_one_line_and_exit_code_2(tmp_path, monkeypatch, capsys):
    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise wb.ConfigError("prune_ratio", 2.0, "a number >= 0 and < 1")

    monkeypatch.setattr("workbench.notebooks.sweep", refuse)
    code = cli.main(["sweep", "nb.ipynb", "-o", str(tmp_path / "sw"), "--grid", "seed=0,1"])
    err = capsys.readouterr().err
    assert code == 2 and err.startswith("error: prune_ratio=2.0") and "Traceback" not in err
