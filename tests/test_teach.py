"""Teaching demos (workbench.teach): the claims the notebooks make, checked on real runs.

Optimizer paths are stepped by real Keras optimizers; the landscape is a real model's loss;
the Playground trains a real Keras MLP; compression is workbench.compress.
"""

from __future__ import annotations

import math
import threading
import time

import numpy as np
import pytest

import workbench as wb
from workbench import teach

keras_tier = pytest.mark.keras


# --- 2-D surfaces and optimizer paths ---

@keras_tier
def test_momentum_reaches_the_rosenbrock_valley_floor_before_sgd():
    runs = teach.compare("rosenbrock", {"sgd": {"optimizer": "sgd"},
                                        "momentum": {"optimizer": "momentum"},
                                        "nesterov": {"optimizer": "nesterov"}},
                         learning_rate=1e-3, steps=5000)
    floor = {k: t.steps_to(1e-2) for k, t in runs.items()}
    assert floor["momentum"] is not None and floor["nesterov"] is not None, floor
    sgd = floor["sgd"] if floor["sgd"] is not None else math.inf
    assert floor["momentum"] < sgd and floor["nesterov"] < sgd, floor
    assert not any(t.diverged for t in runs.values())


@keras_tier
def test_adam_progresses_on_the_ill_conditioned_bowl_where_sgd_zigzags_and_crawls():
    sgd = teach.descend("bowl", "sgd", 0.19, steps=100)
    adam = teach.descend("bowl", "adam", 0.19, steps=100)
    assert sgd.sign_changes(1) >= 90  # across the valley: overshoots every step
    assert abs(sgd.points[-1, 0]) > 1.0  # along the valley: still far from 0 (started at -9)
    assert adam.losses[-1] < sgd.losses[-1] / 100
    assert adam.steps_to(0.01) is not None


@keras_tier
def test_paths_are_the_keras_update_rules():
    f = teach.SURFACES["rosenbrock"]
    x, y = f.start
    grad = np.array([-2 * (1 - x) - 400 * x * (y - x * x), 200 * (y - x * x)])
    lr, mu = 1e-3, 0.9
    sgd = teach.descend("rosenbrock", "sgd", lr, steps=1)
    np.testing.assert_allclose(sgd.points[1], np.array(f.start) - lr * grad, rtol=1e-5)
    mom = teach.descend("rosenbrock", "momentum", lr, steps=2, momentum=mu)
    w1 = np.array(f.start) - lr * grad
    x1, y1 = w1
    g1 = np.array([-2 * (1 - x1) - 400 * x1 * (y1 - x1 * x1), 200 * (y1 - x1 * x1)])
    v2 = mu * (-lr * grad) - lr * g1
    np.testing.assert_allclose(mom.points[2], w1 + v2, rtol=1e-5)
    decay = teach.descend("bowl", "sgd", 0.1, steps=5, schedule="inverse_sqrt", decay_d=2.0)
    np.testing.assert_allclose(decay.learning_rates, [0.1 / (math.sqrt(t) + 2) for t in range(5)],
                               rtol=1e-6)
    assert np.isclose(sgd.losses[0], f(x, y))


@keras_tier
def test_batches_full_batch_is_exact_and_smaller_batches_are_noisier():
    full = teach.descend("bowl", "sgd", 0.1, steps=60)
    silent = teach.descend("bowl", "sgd", 0.1, steps=60, batch="minibatch", noise=0.0)
    np.testing.assert_allclose(full.points, silent.points)
    mini = teach.descend("bowl", "sgd", 0.1, steps=60, batch="minibatch", batch_size=16)
    single = teach.descend("bowl", "sgd", 0.1, steps=60, batch="stochastic")
    dev = [np.abs(t.points - full.points).mean() for t in (mini, single)]
    assert 0 < dev[0] < dev[1], dev


@keras_tier
def test_a_divergent_path_is_cut_and_flagged():
    t = teach.descend("bowl", "sgd", 0.5, steps=200)
    assert t.diverged and np.isfinite(t.points).all() and len(t.points) < 201
    fig = teach.trajectory_figure("bowl", [t])
    assert np.isfinite(np.asarray(fig.data[2].x, dtype=float)).all()


@keras_tier
def test_trajectory_figure_is_animated_with_play_and_slider():
    paths = teach.compare("saddle", {"gd": {}, "adam": {"optimizer": "adam"}},
                          learning_rate=0.01, steps=1000)
    fig = teach.trajectory_figure("saddle", paths, frames=30, max_points=200)
    assert 2 <= len(fig.frames) <= 30 and fig.frames[-1].name == "1000"
    assert fig.layout.updatemenus[0].buttons[0].method == "animate"
    assert len(fig.layout.sliders[0].steps) == len(fig.frames)
    last = fig.frames[-1].data[0]
    assert len(last.x) <= 200 and last.x[-1] == pytest.approx(paths["gd"].points[-1, 0])
    assert teach.loss_figure(paths).layout.yaxis.type == "linear"  # the saddle goes below 0


@pytest.mark.parametrize("kwargs,field", [
    ({"optimizer": "adamm"}, "optimizer"), ({"batch": "half"}, "batch"),
    ({"start": (1.0,)}, "start"), ({"start": (0.0, float("nan"))}, "start"),
    ({"learning_rate": -1.0}, "learning_rate"), ({"steps": 0}, "steps"),
    ({"momentum": 1.0}, "momentum"), ({"schedule": "cosine"}, "schedule"),
    ({"surface_name": "banana"}, "surface")])
def test_descend_rejects_bad_input_naming_the_field(kwargs, field):
    with pytest.raises(wb.ConfigError) as e:
        teach.descend(**kwargs)
    assert e.value.field == field


@keras_tier
def test_descent_explorer_redraws_on_every_control():
    ex = teach.descent_explorer("rosenbrock", ["sgd", "momentum"], 1e-3, steps=100)
    assert set(ex.paths) == {"sgd", "momentum"} and len(ex.map.data) == 2 + 2 * 2
    before = ex.paths["sgd"].points[-1].copy()
    ex.controls["learning_rate"].value = 2e-4
    assert not np.allclose(ex.paths["sgd"].points[-1], before)
    ex.controls["surface"].value = "himmelblau"
    assert ex.paths["sgd"].settings["surface"] == "himmelblau"
    assert tuple(ex.paths["sgd"].points[0]) == teach.SURFACES["himmelblau"].start
    assert "momentum" in ex.formulas.value and "\\mu" in ex.formulas.value


# --- loss landscape ---

@pytest.fixture(scope="module")
def trained():
    snap = teach.weight_snapshots(every=5)
    r = wb.run(wb.ExperimentConfig(dataset="digits", model="mlp", hidden_units=[16], epochs=3),
               callbacks=[snap], store=False, verbose=False)
    ds = wb.load_dataset("digits")
    return r.model, ds.x_train[:500], ds.y_train[:500], snap


@keras_tier
def test_landscape_slice_at_the_origin_is_the_models_loss(trained):
    model, x, y, _ = trained
    land = teach.loss_landscape(model, x, y, resolution=8, span=0.5)
    assert land.loss.shape == (9, 9)  # made odd: the trained weights are the centre
    assert land.loss[4, 4] == land.origin_loss
    keras_loss = model.evaluate(x, y, batch_size=len(x), verbose=0)[0]
    assert land.origin_loss == pytest.approx(keras_loss, rel=1e-5)
    assert land.loss.min() <= land.origin_loss * (1 + 1e-6) < land.loss.max()
    before = [w.numpy().copy() for w in model.trainable_weights]
    teach.loss_landscape(model, x, y, resolution=3)
    for w, b in zip(model.trainable_weights, before, strict=True):  # weights untouched
        np.testing.assert_array_equal(w.numpy(), b)


@keras_tier
def test_random_directions_are_filter_normalized(trained):
    model = trained[0]
    d1, d2 = teach.random_directions(model, seed=3)
    for w, a, b in zip(model.trainable_weights, d1, d2, strict=True):
        w = w.numpy()
        if w.ndim == 1:
            assert not a.any() and not b.any()
        else:
            np.testing.assert_allclose(np.linalg.norm(a, axis=0), np.linalg.norm(w, axis=0),
                                       rtol=1e-4)
            assert not np.allclose(a, b)


@keras_tier
def test_pca_slice_carries_the_training_path(trained):
    model, x, y, snap = trained
    land = teach.loss_landscape(model, x, y, directions="pca", snapshots=snap.snapshots,
                                resolution=9)
    assert land.path.shape == (len(snap.snapshots), 2)
    assert 0.5 < sum(land.explained) <= 1.0 + 1e-9
    assert land.path_loss[0] > land.path_loss[-1]  # the path goes downhill
    assert abs(land.alphas).max() >= abs(land.path[:, 0]).max()  # the grid covers the path
    fig = teach.landscape_figure(land)
    assert any(t.name == "training path" for t in fig.data)
    with pytest.raises(wb.ConfigError, match="snapshots"):
        teach.loss_landscape(model, x, y, directions="pca")


# --- the Playground ---

@keras_tier
def test_playground_separates_moons_and_compresses_for_real():
    pg = teach.Playground("moons", hidden_units=(8, 8), seed=0)
    assert pg.history[0]["epoch"] == 0
    pg.train(30)
    assert pg.accuracy("test") >= 0.95 and pg.accuracy("train") >= 0.95
    _, _, p = pg.boundary(40)
    assert p.shape == (40, 40) and (p > 0.5).any() and (p < 0.5).any()
    dense = pg.accuracy("test")
    pg.compress(quant_bits=4)
    assert pg.weight_stats()["max_distinct_per_layer"] <= 16
    pg.compress(prune_ratio=0.5)
    assert pg.weight_stats()["sparsity"] == pytest.approx(0.5, abs=0.01)
    assert pg.accuracy("test", compressed=False) == dense  # the dense network is untouched
    pg.compress()
    assert pg.accuracy("test") == dense
    pg.prune_and_retrain(0.5, epochs=3)  # the zeros are real and stay through retraining
    assert pg.weight_stats()["sparsity"] == pytest.approx(0.5, abs=0.02) and not pg.compressed
    assert pg.epoch == 33 and pg.history[-1]["epoch"] == 33
    neurons = pg.neuron_figure(resolution=10)
    assert len(neurons.data) == 16 and neurons.data[0].z.shape == (10, 10)
    fig = pg.animate(4, every=2, resolution=20)
    assert [f.name for f in fig.frames] == ["33", "35", "37"]


@keras_tier
def test_playground_features_make_circles_linear():
    pg = teach.Playground("circles", hidden_units=[], features=["x1^2", "x2^2"],
                          learning_rate=0.1).train(30)
    assert len(pg.model.layers) == 1 and pg.accuracy("test") >= 0.95


@pytest.mark.parametrize("kwargs,field", [
    ({"dataset": "digits"}, "dataset"), ({"features": ["x3"]}, "features"),
    ({"hidden_units": [0]}, "hidden_units"), ({"activation": "relu6"}, "activation"),
    ({"optimizer": "adamm"}, "optimizer"), ({"regularization": "l3"}, "regularization"),
    ({"noise": 2.0}, "noise"), ({"batch_size": -1}, "batch_size")])
def test_playground_rejects_bad_input_naming_the_field(kwargs, field):
    with pytest.raises(wb.ConfigError) as e:
        teach.Playground(**kwargs)
    assert e.value.field == field


@keras_tier
def test_playground_widget_runs_in_background_pauses_and_survives_bad_input():
    view = teach.PlaygroundView(teach.Playground("moons", seed=1))
    view.toggle()
    deadline = time.monotonic() + 60
    while view.pg.epoch < 2 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert view.running and view.run_button.description == "Pause"
    view.prune.value = 0.5  # applied live, while training goes on
    view.toggle()
    assert not view.running and view.pg.epoch >= 2
    assert "50% pruned" in view.status.value
    heat = np.asarray(view.boundary_fig.data[0].z)
    np.testing.assert_allclose(heat, view.pg.boundary()[2])
    epoch = view.pg.epoch
    view.retrain_button.click()
    assert view.pg.epoch == epoch + 10 and view.prune.value == 0.0
    assert view.pg.weight_stats()["sparsity"] == pytest.approx(0.5, abs=0.02)
    old = view.pg
    view.controls["hidden_units"].value = "8,x"
    assert view.pg is old and "hidden_units" in view.status.value  # refused, nothing lost
    view.controls["hidden_units"].value = "4"
    assert view.pg is not old and view.pg.hidden_units == [4] and view.pg.epoch == 0
    view.toggle()
    view.pause()
    assert not view.running  # paused: the training thread is gone, not left behind
    assert not [t for t in threading.enumerate() if t.name == "wb-playground" and t.is_alive()]


# --- compression made visible ---

@keras_tier
def test_quantization_and_pruning_figures_show_the_real_grid_and_threshold(trained):
    model, x, y, _ = trained
    w = next(iter(teach.kernels(model).values()))
    fig = teach.quant_histogram(w, (4, 2))
    bars = [t for t in fig.data if t.type == "bar"]
    assert len(bars) == 2 and len(bars[0].x) <= 16 and len(bars[1].x) <= 4
    errs = teach.quantization_errors(model, (8, 4, 2))
    for b in (8, 4, 2):
        assert (errs[errs.bits == b].distinct_values <= 2 ** b).all()
    by_bits = errs.groupby("bits").relative_error.mean()
    assert by_bits[2] > by_bits[4] > by_bits[8]
    acc = teach.accuracy_vs_bits(model, x, y, (8, 2), granularities=("per_tensor",))
    assert list(acc.bits) == [32, 8, 2] and acc.per_tensor.between(0, 1).all()
    assert abs(acc.per_tensor[1] - acc.per_tensor[0]) < 0.02  # 8 bits: no visible loss
    t = teach.prune_threshold(model, 0.8)
    mags = np.abs(np.concatenate([k.ravel() for k in teach.kernels(model).values()]))
    assert np.mean(mags < t) == pytest.approx(0.8, abs=0.01)
    img = teach.sparsity_image(np.array([[0.0, 1.0], [2.0, 0.0]]))
    assert np.isnan(img.data[0].z[0][0]) and "50% zeros" in img.layout.title.text
