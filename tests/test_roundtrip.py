"""Property: unpack(pack(m)) is bit-identical for random small models of every layer kind,
any mix of sparsity and bit-width (hypothesis; 15 models in the fast tier, 200 in slow)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

KINDS = ("dense", "conv", "depthwise", "bn")
BITS = (None, 2, 3, 4, 5, 6, 7, 8, 16)


@st.composite
def models(draw):
    return {"layers": draw(st.lists(st.sampled_from(KINDS), min_size=1, max_size=4)),
            "width": draw(st.integers(1, 12)), "channels": draw(st.integers(1, 3)),
            "sparsity": draw(st.lists(st.sampled_from((0.0, 0.3, 0.5, 0.8, 0.95, 1.0)),
                                      min_size=6, max_size=6)),
            "bits": draw(st.lists(st.sampled_from(BITS), min_size=6, max_size=6)),
            "per_tensor": draw(st.booleans()), "seed": draw(st.integers(0, 2 ** 31 - 1)),
            "codec": draw(st.sampled_from(("lzma", "zlib", "none")))}


def _build(spec):
    from workbench._tf import keras

    L = keras.layers
    layers = [keras.Input((6, 6, spec["channels"]))]
    for i, kind in enumerate(spec["layers"]):
        if kind == "dense":
            layers.append(L.Dense(spec["width"], name=f"l{i}"))
        elif kind == "conv":
            layers.append(L.Conv2D(spec["width"], 2, padding="same", name=f"l{i}"))
        elif kind == "depthwise":
            layers.append(L.DepthwiseConv2D(2, padding="same", depth_multiplier=2,
                                            name=f"l{i}"))
        else:
            layers.append(L.BatchNormalization(name=f"l{i}"))
    layers += [L.Flatten(), L.Dense(3, name="out")]
    model = keras.Sequential(layers)
    from workbench.compress.layers import is_compressible, quant_axes
    from workbench.compress.quantizers import quantize_array

    rng = np.random.default_rng(spec["seed"])
    compressible = [la for la in model.layers if is_compressible(la)]
    for j, layer in enumerate(model.layers):
        weights = [rng.normal(size=w.shape).astype(np.float32) for w in layer.get_weights()]
        if layer in compressible and weights:
            k = weights[0]
            k[rng.random(k.shape) < spec["sparsity"][j % 6]] = 0.0
            bits = spec["bits"][j % 6]
            if bits is not None:
                axes = None if spec["per_tensor"] else quant_axes(layer, k.ndim)
                k = quantize_array(k, bits, axes)
            weights[0] = k
        elif weights and isinstance(layer, L.BatchNormalization):
            weights[-1] = np.abs(weights[-1]) + 0.1  # a variance is positive
        layer.set_weights(weights)
    return model


def _round_trip(spec) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """The model's weights, and the weights decoded from its ``.wbz`` bytes."""
    from workbench.compress.pack import encode
    from workbench.wbz import decode_weights

    model = _build(spec)
    data, _ = encode(model, spec["codec"])
    return model.get_weights(), decode_weights(data)[1]


def _differences(original, back) -> list[str]:
    """Every tensor whose shape, dtype or bytes differ (bit-identical includes -0.0)."""
    if len(original) != len(back):
        return [f"{len(original)} tensors in, {len(back)} out"]
    return [f"tensor {i}" for i, (a, b) in enumerate(zip(original, back, strict=True))
            if a.shape != b.shape or a.dtype != b.dtype
            or np.asarray(a).tobytes() != np.asarray(b).tobytes()]


_SETTINGS = dict(deadline=None, derandomize=True,
                 suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


@settings(max_examples=15, **_SETTINGS)  # the fast tier: models are built, nothing trains
@given(models())
def test_round_trip_is_bit_identical(spec):
    assert _differences(*_round_trip(spec)) == []


@pytest.mark.slow
@settings(max_examples=200, **_SETTINGS)
@given(models())
def test_round_trip_is_bit_identical_over_200_models(spec):
    assert _differences(*_round_trip(spec)) == []
