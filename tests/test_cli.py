"""The `workbench` CLI: exit codes and messages (bad input is fast; training is keras tier)."""

from __future__ import annotations

import pytest

from tests.conftest import run_cli


@pytest.mark.parametrize("args,needle", [
    (["train", "--optimizer", "adamm"], "optimizer='adamm' is not one of"),
    (["train", "--dataset", "cifar10"], "dataset='cifar10' is not one of"),
    (["train", "--model", "vgg"], "model='vgg' is not one of"),
    (["train", "--lr-schedule", "cosin"], "did you mean 'cosine'"),
    (["train", "--activation", "rellu"], "activation='rellu'"),
    (["train", "--learning-rate", "0"], "learning_rate=0.0 is not a number > 0"),
    (["train", "--learning-rate", "abc"], "learning_rate='abc' is not a number"),
    (["train", "--epochs", "0"], "epochs=0 is not an integer >= 1"),
    (["train", "--validation-split", "1"], "validation_split=1.0"),
    (["train", "--hidden-units", "128,-4"], "hidden_units=[128, -4]"),
    (["train", "--warmup-epochs", "5", "--epochs", "3"], "warmup_epochs=5"),
    (["runs", "--runs-dir", "/nonexistent/x"], None),
])
def test_bad_input_exits_2_with_message_and_no_traceback(args, needle):
    r = run_cli(*args)
    if needle is None:  # an empty or missing store is not an error
        assert r.returncode == 0 and "no runs" in r.stdout
        return
    assert r.returncode == 2, (r.stdout, r.stderr)
    assert needle in r.stderr
    assert "Traceback" not in r.stderr and "tensorflow" not in r.stderr.lower()


def test_unknown_flag_suggests_the_right_one():
    r = run_cli("train", "--learnign-rate", "0.1")
    assert r.returncode == 2 and "did you mean --learning-rate" in r.stderr


def test_config_file_errors(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("optimizer: [adam")
    r = run_cli("train", "--config", str(bad))
    assert r.returncode == 2 and "malformed YAML" in r.stderr and "Traceback" not in r.stderr
    unk = tmp_path / "unk.json"
    unk.write_text('{"optimiser": "adam"}')
    r = run_cli("train", "--config", str(unk))
    assert r.returncode == 2 and "unknown config field 'optimiser'" in r.stderr
    assert "did you mean 'optimizer'" in r.stderr
    r = run_cli("train", "--config", str(tmp_path / "missing.json"))
    assert r.returncode == 2 and "does not exist" in r.stderr


def test_no_run_folder_for_bad_input(tmp_path):
    r = run_cli("train", "--epochs", "0", "--runs-dir", str(tmp_path / "runs"))
    assert r.returncode == 2 and not (tmp_path / "runs").exists()


def test_listing_commands():
    r = run_cli("datasets")
    assert r.returncode == 0
    assert "digits" in r.stdout and "offline" in r.stdout and "mnist1d" in r.stdout
    r = run_cli("models")
    assert r.returncode == 0 and "lenet300_100" in r.stdout and "small_cnn" in r.stdout
    r = run_cli()
    assert r.returncode == 2 and "train" in r.stdout


@pytest.mark.keras
def test_train_then_runs(tmp_path):
    cfg = tmp_path / "c.yaml"
    cfg.write_text("dataset: digits\nmodel: mlp\nepochs: 2\n")
    runs = str(tmp_path / "runs")
    r = run_cli("train", "--config", str(cfg), "--optimizer", "nesterov", "--lr-schedule",
                "one_cycle", "--epochs", "3", "--runs-dir", runs)
    assert r.returncode == 0, r.stderr[-2000:]
    lines = r.stdout.splitlines()
    assert sum(line.startswith("epoch ") for line in lines) == 3  # flags override the file
    summary = next(line for line in lines if line.startswith("run "))
    acc = float(summary.split("test_accuracy")[1].split()[0])
    assert "completed" in summary and acc >= 0.93
    r = run_cli("runs", "--runs-dir", runs)
    assert r.returncode == 0 and "nesterov" in r.stdout and "completed" in r.stdout


@pytest.mark.keras
def test_diverged_run_exits_1(tmp_path):
    r = run_cli("train", "--optimizer", "sgd", "--learning-rate", "10", "--activation",
                "linear", "--hidden-units", "512,512,512", "--epochs", "3", "--runs-dir",
                str(tmp_path / "runs"), "--quiet")
    assert r.returncode == 1, r.stdout + r.stderr[-2000:]
    assert "diverged" in r.stdout and "lower --learning-rate" in r.stderr
