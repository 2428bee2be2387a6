"""Compression on tiny real models (digits): pruning, quantization, clustering, distillation,
TFLite, the packed artifact, and every bad input named in the issue (keras tier)."""

from __future__ import annotations

import json

import numpy as np
import pytest

import workbench as wb
from workbench.compress.layers import channel_axes
from workbench.compress.quantizers import distinct_per_group

pytestmark = pytest.mark.keras

BASE = dict(dataset="digits", model="mlp", hidden_units=[64, 32], epochs=8, seed=0)


def _kernels(model):
    from workbench.compress.layers import compressible_layers

    return {layer.name: layer.kernel.numpy() for layer in compressible_layers(model)}


def _group_axes(model, name, per_channel=True):
    layer = model.get_layer(name)
    k = layer.kernel
    keep = channel_axes(layer, len(k.shape))
    return tuple(a for a in range(len(k.shape)) if a not in keep) if per_channel else None


@pytest.fixture(scope="module")
def digits():
    return wb.load_dataset("digits")


@pytest.fixture(scope="module")
def trained_cnn(digits):
    """A small CNN trained on digits (shared by the one-shot function tests)."""
    r = wb.run(wb.ExperimentConfig(dataset="digits", model="small_cnn", epochs=4),
               store=False, verbose=False)
    return r.model


# --- wb.run from the config ---

@pytest.mark.parametrize("scope", ["global", "layer"])
@pytest.mark.parametrize("schedule", ["polynomial", "constant"])
def test_run_hits_target_sparsity_exactly(scope, schedule):
    cfg = wb.ExperimentConfig(**BASE, prune_ratio=0.8, prune_scope=scope,
                              prune_schedule=schedule, prune_begin=0.25 if
                              schedule == "constant" else 0.0)
    r = wb.run(cfg, store=False, verbose=False)
    kernels = _kernels(r.model)
    total = sum(k.size for k in kernels.values())
    zeros = sum(int((k == 0).sum()) for k in kernels.values())
    assert zeros == round(0.8 * total)
    if scope == "layer":
        for k in kernels.values():
            assert int((k == 0).sum()) == round(0.8 * k.size)
    assert r.metrics["sparsity"] == pytest.approx(zeros / total)
    # telemetry: sparsity per epoch, ramping up under the polynomial schedule
    sp = r.history["sparsity"].to_numpy()
    assert sp[-1] == pytest.approx(0.8, abs=1e-3)
    assert sp[0] < sp[-1] and (np.diff(sp) >= -1e-9).all()
    assert r.metrics["test_accuracy"] > 0.5  # a sanity floor: 80% of a tiny MLP is gone


@pytest.mark.parametrize("granularity", ["per_tensor", "per_channel"])
@pytest.mark.parametrize("bits", [2, 4, 8])
def test_distinct_values_per_group_at_most_2_pow_bits(bits, granularity):
    cfg = wb.ExperimentConfig(**{**BASE, "epochs": 3}, quant_bits=bits,
                              quant_granularity=granularity)
    r = wb.run(cfg, store=False, verbose=False)
    for name, k in _kernels(r.model).items():
        axes = _group_axes(r.model, name, granularity == "per_channel")
        assert distinct_per_group(k, axes).max() <= 2 ** bits, name
    assert r.metrics["bits"] == bits


def test_qat_beats_ptq_at_4_bits():
    """Mean over 3 seeds, per-tensor grids (a single seed can go either way at this size:
    measured 91.67% vs 91.11%; runs are bit-identical on CPU, so this is not flaky)."""
    accs = {"ptq": [], "qat": []}
    for seed in range(3):
        for mode in accs:
            cfg = wb.ExperimentConfig(dataset="digits", model="mlp", hidden_units=[32],
                                      epochs=10, seed=seed, quant_bits=4,
                                      quant_granularity="per_tensor", quant_mode=mode)
            accs[mode].append(wb.run(cfg, store=False, verbose=False)
                              .metrics["test_accuracy"])
    assert np.mean(accs["qat"]) > np.mean(accs["ptq"]), accs


@pytest.mark.parametrize("mode", ["ptq", "qat"])
def test_mixed_precision_conv_and_dense_bits(mode):
    """quant_bits_conv: 8-bit conv kernels beside 3-bit dense kernels (Deep Compression's mix),
    in the trained model and in the packed artifact's size report."""
    import workbench.compress as C

    cfg = wb.ExperimentConfig(dataset="digits", model="small_cnn", epochs=3, quant_bits=3,
                              quant_bits_conv=8, quant_mode=mode,
                              quant_granularity="per_tensor")
    r = wb.run(cfg, store=False, verbose=False)
    distinct = {name: np.unique(k).size for name, k in _kernels(r.model).items()}
    conv = [n for n in distinct if n.startswith("conv")]
    dense = [n for n in distinct if not n.startswith("conv")]
    assert conv and dense, distinct
    assert all(distinct[n] <= 8 for n in dense), distinct
    assert all(8 < distinct[n] <= 256 for n in conv), distinct  # more than 3 bits can hold
    assert r.metrics["bits"] == 8
    rep = C.size_report(r.model)
    # the report counts the bits the values in use need: no more than each layer's width
    assert all(rep.loc[n, "bits"] <= 3 for n in dense) and all(
        3 < rep.loc[n, "bits"] <= 8 for n in conv), rep["bits"]
    assert r.metrics["test_accuracy"] > 0.8


def test_clustering_leaves_at_most_k_values_per_layer():
    r = wb.run(wb.ExperimentConfig(**{**BASE, "epochs": 4}, cluster_k=8), store=False,
               verbose=False)
    for name, k in _kernels(r.model).items():
        assert np.unique(k).size <= 8, name
    assert r.metrics["bits"] == 3 and r.metrics["test_accuracy"] > 0.7


def test_units_pruning_builds_a_smaller_model_with_sensible_accuracy():
    base = {**BASE, "epochs": 14}
    dense = wb.run(wb.ExperimentConfig(**base), store=False, verbose=False)
    r = wb.run(wb.ExperimentConfig(**base, prune_ratio=0.5, prune_structure="units"),
               store=False, verbose=False)
    units = [layer.units for layer in r.model.layers if hasattr(layer, "units")]
    assert units == [32, 16, 10]
    assert r.metrics["params"] < dense.metrics["params"] * 0.6
    assert r.metrics["test_accuracy"] > dense.metrics["test_accuracy"] - 0.05


def test_units_pruning_of_conv_filters(digits):
    r = wb.run(wb.ExperimentConfig(dataset="digits", model="small_cnn", epochs=4,
                                   prune_ratio=0.5, prune_structure="units"),
               store=False, verbose=False)
    filters = [layer.filters for layer in r.model.layers if hasattr(layer, "filters")]
    assert filters == [8, 16]
    assert r.metrics["test_accuracy"] > 0.8


def test_tflite_exports_are_measured_on_their_own_artifacts(store):
    from workbench.exports import EXPORTS, TFLITE_KINDS

    cfg = wb.ExperimentConfig(**{**BASE, "epochs": 4}, prune_ratio=0.5, quant_bits=8,
                              export=list(EXPORTS))  # every kind the registry has
    r = wb.run(cfg, store=store, verbose=False)
    acc = r.metrics["test_accuracy"]
    assert len(TFLITE_KINDS) >= 4
    for kind in TFLITE_KINDS:
        path = r.run_dir / EXPORTS[kind].file
        assert path.stat().st_size == r.metrics[f"{kind}_bytes"]
        assert abs(r.metrics[f"{kind}_accuracy"] - acc) <= 0.005 + 1e-9, kind
        assert r.metrics[f"{kind}_latency_ms"] > 0
    assert r.metrics["tflite_int8_bytes"] < r.metrics["tflite_float32_bytes"] / 2
    # the packed artifact: its bytes are the file's, its accuracy measured after unpacking
    wbz = r.run_dir / "model.wbz"
    assert wbz.stat().st_size == r.metrics["size_bytes_packed"]
    assert r.metrics["packed_accuracy"] == pytest.approx(acc, abs=1e-6)
    assert r.metrics["compression_ratio"] == pytest.approx(
        r.metrics["size_bytes_float32"] / r.metrics["size_bytes_packed"])
    on_disk = json.loads((r.run_dir / "metrics.json").read_text())
    assert on_disk["size_bytes_packed"] == r.metrics["size_bytes_packed"]


def test_distillation_from_a_finished_run(store):
    teacher = wb.run(wb.ExperimentConfig(dataset="digits", model="mlp", hidden_units=[128],
                                         epochs=6), store=store, verbose=False)
    cfg = wb.ExperimentConfig(dataset="digits", model="mlp", hidden_units=[16], epochs=6,
                              distill_teacher=teacher.run_id, distill_temperature=3.0,
                              distill_alpha=0.9)
    r = wb.run(cfg, store=store, verbose=False)
    assert r.status == "completed" and r.metrics["params"] < teacher.metrics["params"]
    assert r.metrics["test_accuracy"] > 0.75
    assert np.isfinite(r.history.loss).all() and (r.history.loss > 0).all()
    # and from a .keras file
    path = teacher.run_dir / "model.keras"
    r2 = wb.run(cfg.replace(distill_teacher=str(path), epochs=1), store=False, verbose=False)
    assert r2.status == "completed"


# --- one-shot functions on any Keras model ---

def test_pack_unpack_reproduces_predictions_exactly(tmp_path, trained_cnn, digits):
    import workbench.compress as C

    x = digits.x_test[:200]
    for model in (trained_cnn, C.quantize(C.prune(trained_cnn, 0.7), 5),
                  C.cluster(trained_cnn, 16), C.quantize(trained_cnn, 16),
                  C.quantize(trained_cnn, 3, granularity="per_tensor")):
        path = tmp_path / "m.wbz"
        n = C.pack(model, path)
        assert path.stat().st_size == n
        back = C.unpack(path)
        assert np.array_equal(back.predict_on_batch(x), model.predict_on_batch(x))
        for a, b in zip(back.get_weights(), model.get_weights(), strict=True):
            assert np.array_equal(a, b)


def test_packed_bytes_shrink_with_sparsity_and_bits(trained_cnn):
    import workbench.compress as C

    dense = C.pack(trained_cnn)
    pruned = C.pack(C.prune(trained_cnn, 0.8))
    small = C.pack(C.quantize(C.prune(trained_cnn, 0.8), 4))
    assert small < pruned < dense


def test_size_report_rows_and_totals(trained_cnn):
    import workbench.compress as C

    model = C.quantize(C.prune(trained_cnn, 0.6, scope="layer"), 4)
    rep = C.size_report(model)
    assert list(rep.index) == ["conv_1", "conv_2", "dense_1", "logits", "total"]
    assert rep.loc["total", "params"] == model.count_params()
    assert rep.loc["total", "bytes_packed"] == C.pack(model)
    assert rep.loc["dense_1", "distinct_values"] <= 16 and rep.loc["dense_1", "bits"] <= 4
    assert rep.loc["total", "sparsity"] == pytest.approx(0.6, abs=1e-3)


def test_plan_names_what_is_skipped(trained_cnn):
    import workbench.compress as C

    p = C.plan(trained_cnn, wb.ExperimentConfig(prune_ratio=0.5, prune_structure="units",
                                                quant_bits=4))
    assert "output layer" in p.loc["logits", "note"]
    assert p.loc["conv_1", "prune"].startswith("units 0.5")
    assert p.loc["dense_1", "quantize"] == "4-bit per_channel ptq"
    mixed = C.plan(trained_cnn, wb.ExperimentConfig(quant_bits=5, quant_bits_conv=8))
    assert mixed.loc["conv_1", "quantize"] == "8-bit per_channel ptq"
    assert mixed.loc["dense_1", "quantize"] == "5-bit per_channel ptq"


def test_keras_own_quantize_mode_compared(store):
    """Keras's int8 ``.keras`` file against the float32 ``.keras`` file of the same model."""
    cfg = wb.ExperimentConfig(**{**BASE, "epochs": 3, "hidden_units": [256, 128]})
    dense = wb.run(cfg, store=store, verbose=False)
    r = wb.run(cfg.replace(quant_bits=8, quant_mode="keras"), store=False, verbose=False)
    float_file = (dense.run_dir / "model.keras").stat().st_size
    assert r.metrics["size_bytes_packed"] < float_file / 2
    assert r.metrics["test_accuracy"] > dense.metrics["test_accuracy"] - 0.02


# --- bad input: clear WorkbenchErrors, nothing half-written ---

@pytest.mark.parametrize("kw,field", [
    (dict(prune_ratio=1.0), "prune_ratio"), (dict(prune_ratio=-0.1), "prune_ratio"),
    (dict(quant_bits=1), "quant_bits"), (dict(quant_bits=9), "quant_bits"),
    (dict(quant_bits=15), "quant_bits"), (dict(quant_bits=33), "quant_bits"),
    (dict(quant_mode="qat"), "quant_bits"), (dict(cluster_k=1), "cluster_k"),
    (dict(quant_bits_conv=8), "quant_bits_conv"),
    (dict(quant_bits=4, quant_bits_conv=9), "quant_bits_conv"),
    (dict(quant_bits=8, quant_mode="keras", quant_bits_conv=8), "quant_bits_conv"),
    (dict(quant_bits=4, quant_mode="qat", quant_bits_conv=16), "quant_bits_conv"),
    (dict(export=["onnx"]), "export")])
def test_bad_compression_fields(kw, field):
    with pytest.raises(wb.ConfigError) as e:
        wb.ExperimentConfig(**kw)
    assert e.value.field == field and field in str(e.value)


def test_cluster_k_larger_than_a_layer(store):
    cfg = wb.ExperimentConfig(dataset="moons", model="mlp", hidden_units=[4], cluster_k=64,
                              epochs=1)
    with pytest.raises(wb.ConfigError, match=r"cluster_k=64.*layer 'dense_1' has 8"):
        wb.run(cfg, store=store, verbose=False)
    assert len(store) == 0


def test_model_with_no_prunable_layer(store):
    from workbench._tf import keras

    def builder(shape, n):
        inp = keras.Input(shape)
        x = keras.layers.Flatten()(inp)
        out = keras.layers.Activation("linear")(x[:, :n])
        return keras.Model(inp, out)

    with pytest.raises(wb.ModelError, match="no layer to compress"):
        wb.run(wb.ExperimentConfig(prune_ratio=0.5, epochs=1), model=builder, store=store,
               verbose=False)
    assert len(store) == 0


def test_tflite_int8_without_representative_data(trained_cnn):
    import workbench.compress as C

    with pytest.raises(wb.ConfigError, match="representative_data"):
        C.export_tflite(trained_cnn, kind="tflite_int8")


def test_unknown_teacher(store):
    with pytest.raises(wb.ConfigError, match="distill_teacher"):
        wb.run(wb.ExperimentConfig(distill_teacher="no-such-run", epochs=1), store=store,
               verbose=False)
    assert len(store) == 0


def test_truncated_corrupted_and_future_wbz(tmp_path, trained_cnn):
    import workbench.compress as C
    from workbench.wbz import PREAMBLE as _PREAMBLE

    good = tmp_path / "good.wbz"
    C.pack(C.quantize(trained_cnn, 4), good)
    data = good.read_bytes()
    cases = {"truncated": data[:-10], "corrupted": data[:40] + bytes([data[40] ^ 0xFF])
             + data[41:], "future": data[:3] + bytes([9]) + data[4:], "not_wbz": b"hello",
             "empty": b""}
    for name, blob in cases.items():
        p = tmp_path / f"{name}.wbz"
        p.write_bytes(blob)
        with pytest.raises(wb.ArtifactError) as e:
            C.unpack(p)
        msg = str(e.value)
        assert {"truncated": "truncated", "corrupted": "corrupted", "future": "version 9",
                "not_wbz": "not a .wbz", "empty": "not a .wbz"}[name] in msg, msg
    with pytest.raises(wb.ArtifactError, match="does not exist"):
        C.unpack(tmp_path / "missing.wbz")
    assert _PREAMBLE.size == 17


def test_smallest_picks_exactly_k_with_ties_and_nans_like_a_stable_sort():
    """The mask selection counts the (many) tied minimum values instead of partitioning them:
    it must still pick exactly the entries a stable sort would (ties: lowest index)."""
    from workbench.compress.pruning import _smallest

    rng = np.random.default_rng(0)
    for trial in range(300):
        n = int(rng.integers(1, 200))
        if trial % 2:  # a sparse kernel: mostly zeros, a few repeated values
            a = rng.choice([0.0, 0.0, 0.0, 1.0, 2.0, float(rng.normal())], size=n)
        else:
            a = rng.normal(size=n)
        if trial % 7 == 0:
            a[rng.integers(0, n)] = np.nan
        a = a.astype(np.float32)
        k = int(rng.integers(0, n + 1))
        want = np.zeros(n, bool)
        want[np.argsort(a, kind="stable")[:k]] = True
        assert (_smallest(a, k) == want).all(), (trial, k)
