"""Learning-rate schedules: numpy previews, and the same formulas inside Keras."""

from __future__ import annotations

import numpy as np
import pytest

import workbench as wb
from workbench.config import LR_SCHEDULES
from workbench.training.schedules import lr_at


@pytest.mark.parametrize("name", LR_SCHEDULES)
def test_preview_shape_and_positivity(name):
    cfg = wb.ExperimentConfig(lr_schedule=name, epochs=4, learning_rate=0.1)
    p = wb.schedule_preview(cfg)
    assert len(p) == 4 * 41 and list(p.columns) == ["step", "epoch", "lr"]
    assert (p.lr > 0).all() and p.lr.max() <= 0.1 + 1e-12


def test_schedule_shapes():
    def lrs(name, **kw):
        return wb.schedule_preview(wb.ExperimentConfig(lr_schedule=name, epochs=10,
                                                       learning_rate=0.1, **kw)).lr.to_numpy()
    assert np.allclose(lrs("constant"), 0.1)
    step = lrs("step")
    assert set(np.round(step, 6)) == {0.1, 0.01, 0.001}
    cos = lrs("cosine")
    assert cos[0] == pytest.approx(0.1) and cos[-1] < 1e-4 and np.all(np.diff(cos) <= 1e-12)
    oc = lrs("one_cycle")
    assert oc[0] == pytest.approx(0.004) and oc.max() == pytest.approx(0.1, rel=1e-3)
    assert np.argmax(oc) == pytest.approx(0.3 * len(oc), abs=2)
    inv = lrs("inverse_sqrt")  # alpha_0 / (sqrt(t) + 1), t in epochs
    assert inv[0] == pytest.approx(0.1) and inv[41 * 4] == pytest.approx(0.1 / 3)
    restarts = lrs("cosine_restarts")
    assert (np.diff(restarts) > 0.05).sum() == 2  # two jumps back up: three cycles
    warm = lrs("cosine", warmup_epochs=2)
    assert warm[0] < 0.01 and warm[81] == pytest.approx(0.1, rel=1e-6)


def test_batch_size_changes_steps():
    full = wb.schedule_preview(wb.ExperimentConfig(batch_size=0, epochs=5))
    sgd = wb.schedule_preview(wb.ExperimentConfig(batch_size=1, epochs=1))
    assert len(full) == 5 and len(sgd) == 1293


@pytest.mark.keras
@pytest.mark.parametrize("name", [s for s in LR_SCHEDULES if s not in ("constant", "plateau")])
def test_keras_schedule_matches_preview_and_serializes(name):
    from workbench._tf import keras
    from workbench.training.schedules import keras_schedule

    cfg = wb.ExperimentConfig(lr_schedule=name, epochs=6, learning_rate=0.1, warmup_epochs=1)
    sched = keras_schedule(cfg, 20)
    steps = np.arange(120)
    got = np.array([float(sched(s)) for s in steps])
    want = lr_at(name, steps, lr=0.1, total=120, spe=20, warmup=20)
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-8)  # float32 vs float64
    clone = keras.optimizers.schedules.deserialize(keras.optimizers.schedules.serialize(sched))
    assert float(clone(57)) == pytest.approx(float(sched(57)))


@pytest.mark.keras
def test_cosine_and_exponential_agree_with_keras_builtins():
    from workbench._tf import keras

    s = keras.optimizers.schedules
    steps = np.arange(0, 100, 7)
    ref_cos = [float(s.CosineDecay(0.1, 100)(t)) for t in steps]
    np.testing.assert_allclose(lr_at("cosine", steps, lr=0.1, total=100, spe=10), ref_cos,
                               rtol=1e-5)
    ref_exp = [float(s.ExponentialDecay(0.1, 10, 0.9)(t)) for t in steps]
    np.testing.assert_allclose(lr_at("exponential", steps, lr=0.1, total=100, spe=10), ref_exp,
                               rtol=1e-5)
    ref_inv = [float(s.InverseTimeDecay(0.1, 10, 0.5)(t)) for t in steps]
    np.testing.assert_allclose(lr_at("inverse_time", steps, lr=0.1, total=100, spe=10),
                               ref_inv, rtol=1e-5)
