"""Compress what you trained: init_from, epochs=0, the what-if engine, sensitivity.

One small CNN is trained on digits per module; every other run here starts from it.
"""

from __future__ import annotations

import json
import os

import numpy as np
import pytest

import workbench as wb
from tests.conftest import ROOT, run_cli

pytestmark = pytest.mark.keras

SETTINGS = [
    {"prune_ratio": 0.8, "quant_bits": 4},
    {"prune_ratio": 0.5, "prune_scope": "layer", "quant_bits": 8,
     "quant_granularity": "per_tensor"},
    {"prune_ratio": 0.6, "cluster_k": 8},
    {"quant_bits": 4, "quant_bits_conv": 8},
    {"prune_ratio": 0.7, "prune_layer_ratios": {"dense_1": 0.95}, "quant_bits": 5},
]


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    store = wb.RunStore(tmp_path_factory.mktemp("whatif") / "runs")
    src = wb.run(wb.ExperimentConfig(dataset="digits", model="small_cnn", epochs=8,
                                     lr_schedule="cosine"), store=store, verbose=False)
    assert src.status == "completed"
    return store, src


def _whatif_kwargs(setting):
    kw = dict(setting)
    ratios = kw.pop("prune_layer_ratios", None)
    if ratios:
        kw["layers"] = {name: {"prune_ratio": r} for name, r in ratios.items()}
    return kw


@pytest.mark.parametrize("setting", SETTINGS, ids=lambda s: ",".join(f"{k}={v}" for k, v in
                                                                     s.items()))
def test_whatif_equals_a_compression_only_run(trained, setting):
    store, src = trained
    w = wb.compress.WhatIf(src)
    got = w.evaluate(**_whatif_kwargs(setting))
    run = wb.run(wb.ExperimentConfig(init_from=src.run_id, epochs=0, **setting), store=store,
                 verbose=False)
    m = run.metrics
    n = len(w.y_test)
    assert round(got["test_accuracy"] * n) == round(m["test_accuracy"] * n)
    assert got["test_accuracy"] == pytest.approx(m["packed_accuracy"], abs=0)
    assert got["size_bytes_packed"] == m["size_bytes_packed"]
    assert got["sparsity"] == pytest.approx(m["sparsity"])
    assert got["bits"] == m["bits"]
    assert got["compression_ratio"] == pytest.approx(m["compression_ratio"])
    assert set(got["layers"].index) == {"conv_1", "conv_2", "dense_1", "logits"}


def test_whatif_leaves_the_source_alone_and_answers_again(trained):
    _, src = trained
    before = [w.copy() for w in src.model.get_weights()]
    w = wb.compress.WhatIf(src)
    a = w.evaluate(prune_ratio=0.9, quant_bits=3)
    b = w.evaluate(prune_ratio=0.9, quant_bits=3)
    assert a["test_accuracy"] == b["test_accuracy"]
    assert a["size_bytes_packed"] == b["size_bytes_packed"]
    assert w.evaluate()["test_accuracy"] == w.baseline["test_accuracy"]
    assert all(np.array_equal(x, y) for x, y in zip(before, src.model.get_weights(),
                                                     strict=True))
    assert a["size_bytes_packed"] < w.baseline["size_bytes_packed"] / 5


def test_whatif_export_measures_the_file(trained, tmp_path):
    _, src = trained
    w = wb.compress.WhatIf(src)
    point = {"prune_ratio": 0.5, "quant_bits": 8}
    m = w.export(tmp_path / "point", ["packed", "tflite_int8"], **point)
    assert (tmp_path / "point" / "model.wbz").stat().st_size == m["size_bytes_packed"]
    assert m["size_bytes_packed"] == w.evaluate(**point)["size_bytes_packed"]
    assert m["packed_accuracy"] == w.evaluate(**point)["test_accuracy"]
    assert (tmp_path / "point" / "model_tflite_int8.tflite").is_file()
    assert 0.5 < m["tflite_int8_accuracy"] <= 1


def test_run_records_its_source_and_fine_tunes(trained):
    store, src = trained
    cfg = wb.ExperimentConfig(init_from=src.run_id, epochs=2, prune_ratio=0.8, quant_bits=4,
                              quant_mode="qat")
    r = wb.run(cfg, store=store, verbose=False)
    assert r.status == "completed" and r.config.model == "small_cnn"
    assert r.metrics["source_run"] == src.run_id
    assert r.metrics["source_test_accuracy"] == src.metrics["test_accuracy"]
    status = json.loads((r.run_dir / "status.json").read_text())
    assert status["source_run"] == src.run_id
    one_shot = wb.compress.WhatIf(src).evaluate(prune_ratio=0.8, quant_bits=4)
    assert r.metrics["sparsity"] == pytest.approx(0.8, abs=1e-3)
    assert r.metrics["test_accuracy"] > one_shot["test_accuracy"]  # fine-tuning recovers
    # a run folder is a source too, and so is the .keras file
    again = wb.run(cfg.replace(init_from=str(src.run_dir), epochs=0, quant_mode="ptq"),
                   store=store, verbose=False)
    direct = wb.run(cfg.replace(init_from=str(src.run_dir / "model.keras"), epochs=0,
                                quant_mode="ptq"), store=store, verbose=False)
    assert again.metrics["size_bytes_packed"] == direct.metrics["size_bytes_packed"]
    assert direct.config.model == "small_cnn"  # taken from the file's model name


def test_prune_layer_ratios_are_exact_while_training(trained):
    store, src = trained
    ratios = {"conv_2": 0.5, "dense_1": 0.9}
    r = wb.run(wb.ExperimentConfig(init_from=src.run_id, epochs=2, prune_ratio=0.3,
                                   prune_layer_ratios=ratios), store=store, verbose=False)
    rep = wb.compress.size_report(r.model)
    for name, ratio in ratios.items():
        kernel = r.model.get_layer(name).kernel.numpy()
        assert float(np.mean(kernel == 0)) == pytest.approx(ratio, abs=1e-3)
    global_layers = ["conv_1", "logits"]
    zeros = sum(int((r.model.get_layer(n).kernel.numpy() == 0).sum()) for n in global_layers)
    size = sum(r.model.get_layer(n).kernel.numpy().size for n in global_layers)
    assert zeros / size == pytest.approx(0.3, abs=0.01)
    assert rep.loc["total", "sparsity"] > 0.3


def test_sensitivity_and_suggested_ratios(trained):
    store, src = trained
    w = wb.compress.WhatIf(src)
    df = wb.compress.sensitivity(w, ratios=[0.5, 0.9], bits=[4, 2])
    assert len(df) == 4 * (2 + 2)
    assert set(df["technique"]) == {"prune", "quantize"}
    base = w.baseline["test_accuracy"]
    assert (df["drop"] == base - df["test_accuracy"]).all()
    # pruning one layer alone is measured: it equals a what-if of that layer alone
    row = df[(df.layer == "dense_1") & (df.technique == "prune") & (df.value == 0.9)].iloc[0]
    alone = w.evaluate(layers={"dense_1": {"prune_ratio": 0.9}})["test_accuracy"]
    assert row.test_accuracy == alone
    every = wb.compress.suggest_layer_ratios(df, max_drop=1.0)
    assert every == dict.fromkeys(["conv_1", "conv_2", "dense_1", "logits"], 0.9)
    budget = wb.compress.suggest_layer_ratios(df, max_drop=0.005)
    for layer, ratio in budget.items():
        sel = df[(df.layer == layer) & (df.technique == "prune") & (df.value == ratio)]
        assert float(sel["drop"].iloc[0]) <= 0.005
    cfg = wb.ExperimentConfig(init_from=src.run_id, epochs=0, prune_layer_ratios=every)
    r = wb.run(cfg, store=store, verbose=False)
    assert r.metrics["sparsity"] == pytest.approx(0.9, abs=1e-3)
    fig = wb.figures.sensitivity(df)
    assert {t.name for t in fig.data} >= {"conv_1", "dense_1"}
    with pytest.raises(wb.ConfigError, match="max_drop"):
        wb.compress.suggest_layer_ratios(df, max_drop=-1)


# --- bad input: a clear error naming the field, nothing written ---

def _bad(store, match, **fields):
    before = set(store.run_ids())
    with pytest.raises(wb.WorkbenchError, match=match) as e:
        wb.run(wb.ExperimentConfig(**fields), store=store, verbose=False)
    assert set(store.run_ids()) == before
    return e.value


def test_unknown_run_id_suggests_the_close_one(trained):
    store, src = trained
    err = _bad(store, "init_from", init_from=src.run_id[:-1] + "x", epochs=0)
    assert err.field == "init_from" and src.run_id in str(err)


def test_failed_and_incomplete_sources_are_refused(trained):
    store, _ = trained
    writer = store.start(wb.ExperimentConfig(run_name="broken"))
    writer.finish("failed", {}, "ValueError: boom")
    err = _bad(store, "failed", init_from=writer.run_id, epochs=0)
    assert err.field == "init_from" and "boom" in str(err)
    dead = store.start(wb.ExperimentConfig(run_name="dead"))
    status = json.loads((dead.dir / "status.json").read_text())
    status["pid"] = 2 ** 22 + 12345  # no such process: the run is incomplete
    (dead.dir / "status.json").write_text(json.dumps(status))
    _bad(store, "incomplete", init_from=dead.run_id, epochs=0)


def test_models_that_do_not_fit_are_refused(trained, tmp_path):
    store, src = trained
    from workbench.architectures import build_model

    other = build_model("lenet5", (28, 28, 1), 10)
    path = tmp_path / "fashion_lenet5.keras"
    other.save(path)
    err = _bad(store, "init_from", init_from=str(path), epochs=0, dataset="digits",
               model="lenet5")
    assert "shape" in str(err)
    classes = build_model("small_cnn", (8, 8, 1), 3)
    classes.save(tmp_path / "three.keras")
    assert "classes" in str(_bad(store, "init_from", init_from=str(tmp_path / "three.keras"),
                                 epochs=0))
    err = _bad(store, "model", init_from=src.run_id, epochs=0, model="lenet5")
    assert err.field == "model" and "small_cnn" in str(err)


def test_corrupted_and_unsafe_files_are_refused(trained, tmp_path):
    store, _ = trained
    bad = tmp_path / "garbage.keras"
    bad.write_bytes(os.urandom(2048))
    assert _bad(store, "init_from", init_from=str(bad), epochs=0).field == "init_from"
    _bad(store, "no such file", init_from=str(tmp_path / "missing.keras"), epochs=0)
    from workbench._tf import keras

    inp = keras.Input((8, 8, 1))
    x = keras.layers.Lambda(lambda t: t * 2.0)(inp)
    x = keras.layers.Flatten()(x)
    lam = keras.Model(inp, keras.layers.Dense(10)(x))
    lam.save(tmp_path / "lambda.keras")
    err = _bad(store, "init_from", init_from=str(tmp_path / "lambda.keras"), epochs=0)
    assert "safe mode" in str(err) or "Lambda" in str(err)


def test_config_level_errors_name_the_field(trained):
    store, src = trained
    with pytest.raises(wb.ConfigError, match="needs init_from") as e:
        wb.ExperimentConfig(epochs=0)
    assert e.value.field == "epochs"
    err = _bad(store, "prune_layer_ratios", init_from=src.run_id, epochs=0,
               prune_layer_ratios={"dense1": 0.5})
    assert "dense_1" in str(err)  # did you mean
    with pytest.raises(wb.ConfigError, match="quant_mode"):
        wb.ExperimentConfig(init_from=src.run_id, epochs=0, quant_bits=4, quant_mode="qat")


def test_cli_and_api_give_one_number(trained, tmp_path):
    store, src = trained
    api = wb.run(wb.ExperimentConfig(init_from=src.run_id, epochs=0, prune_ratio=0.8,
                                     quant_bits=4), store=store, verbose=False)
    res = run_cli("train", "--init-from", src.run_id, "--epochs", "0", "--prune-ratio", "0.8",
                  "--quant-bits", "4", "--runs-dir", str(store.root), "--quiet")
    assert res.returncode == 0, res.stderr
    line = next(ln for ln in res.stdout.splitlines() if ln.startswith("saved in"))
    run_dir = line.removeprefix("saved in ").strip()
    cli = json.loads((store.root / os.path.basename(run_dir) / "metrics.json").read_text())
    assert cli["test_accuracy"] == pytest.approx(api.metrics["test_accuracy"], abs=0)
    assert cli["size_bytes_packed"] == api.metrics["size_bytes_packed"]
    res = run_cli("train", "--init-from", src.run_id, "--epochs", "0", "--prune-layer-ratios",
                  "dense1=0.5", "--runs-dir", str(store.root))
    assert res.returncode == 2 and "prune_layer_ratios" in res.stderr
    assert "Traceback" not in res.stderr


@pytest.mark.notebook
def test_papermill_gives_the_same_number(trained, tmp_path):
    store, src = trained
    api = wb.run(wb.ExperimentConfig(init_from=str(src.run_dir), epochs=0, prune_ratio=0.8,
                                     quant_bits=4), store=store, verbose=False)
    nb = wb.run_notebook(ROOT / "notebooks" / "05_compression_pipeline.ipynb",
                         {"init_from": str(src.run_dir), "epochs": 0, "prune_ratio": 0.8,
                          "quant_bits": 4, "distill": False}, tmp_path / "nb")
    assert nb.status == "completed", nb.error
    assert nb.results["test_accuracy"] == api.metrics["packed_accuracy"]
    assert nb.results["size_bytes_packed"] == api.metrics["size_bytes_packed"]
    assert nb.results["baseline_accuracy"] == src.metrics["test_accuracy"]
    assert nb.results["one_shot_accuracy"] == nb.results["test_accuracy"]  # epochs=0
