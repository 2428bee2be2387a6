"""A 2-D slice of a trained model's loss: ``L(w* + a d1 + b d2)`` (Li et al., 2018).

Random directions are *filter-normalized*: each output unit's (filter's) slice of a random
direction is rescaled to the norm of the same slice of the weights, and 1-D parameters (biases,
normalization) get no component, so slices of different networks are comparable. Random
directions are almost orthogonal to a training path in many dimensions, so the path is drawn
on a second slice spanned by the two principal components of the weight snapshots taken while
training (``WeightSnapshots``), where it is visible by construction.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from workbench.exceptions import ConfigError


@dataclass
class Landscape:
    """A loss grid ``loss[j, i] = L(w* + alphas[i] d1 + betas[j] d2)``.

    Attributes:
        alphas, betas: the grid coordinates along d1 and d2 (0 is always a grid point).
        loss: the loss grid (the model's own loss function on the given data).
        origin_loss: the loss at the trained weights (the grid's centre).
        kind: ``random`` (filter-normalized) or ``pca`` (of a training path).
        path: ``(k, 2)`` coordinates of the weight snapshots on the slice (pca only).
        path_loss: the loss at each snapshot's projection (pca only).
        explained: the fraction of the path's variance on d1 and d2 (pca only).
    """

    alphas: np.ndarray
    betas: np.ndarray
    loss: np.ndarray
    origin_loss: float
    kind: str
    path: np.ndarray | None = None
    path_loss: np.ndarray | None = None
    explained: tuple[float, float] | None = None


def _weights(model: Any) -> list[np.ndarray]:
    return [np.asarray(v.numpy(), dtype="float32") for v in model.trainable_weights]


def random_directions(model: Any, seed: int = 0) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Two filter-normalized random directions for ``model``'s trainable weights.

    Example:
        >>> import keras, numpy as np
        >>> from workbench.teach import random_directions
        >>> m = keras.Sequential([keras.Input((3,)), keras.layers.Dense(4)])
        >>> d1, d2 = random_directions(m)
        >>> w = m.layers[0].kernel.numpy()
        >>> bool(np.allclose(np.linalg.norm(d1[0], axis=0), np.linalg.norm(w, axis=0), rtol=1e-5))
        True
        >>> float(np.abs(d1[1]).sum())  # the bias gets no component
        0.0
    """
    rng = np.random.default_rng(seed)
    out: tuple[list[np.ndarray], list[np.ndarray]] = ([], [])
    for w in _weights(model):
        for dirs in out:
            if w.ndim <= 1:
                dirs.append(np.zeros_like(w))
                continue
            d = rng.normal(size=w.shape).astype("float32")
            axes = tuple(range(w.ndim - 1))  # all but the output-unit axis
            d *= np.linalg.norm(w, axis=axes, keepdims=True) / (
                np.linalg.norm(d, axis=axes, keepdims=True) + 1e-10)
            dirs.append(d)
    return out


def _flat(ws: list[np.ndarray]) -> np.ndarray:
    return np.concatenate([w.ravel() for w in ws])


def _unflat(v: np.ndarray, like: list[np.ndarray]) -> list[np.ndarray]:
    out, i = [], 0
    for w in like:
        out.append(v[i: i + w.size].reshape(w.shape).astype("float32"))
        i += w.size
    return out


def pca_directions(snapshots: list[list[np.ndarray]], final: list[np.ndarray]
                   ) -> tuple[list[np.ndarray], list[np.ndarray], np.ndarray, tuple[float, float]]:
    """The top two principal directions of ``snapshots - final``, the snapshots' coordinates
    along them and the fraction of variance each explains."""
    if len(snapshots) < 3:
        raise ConfigError("snapshots", len(snapshots), "at least 3 weight snapshots")
    f = _flat(final)
    m = np.stack([_flat(s) - f for s in snapshots]).astype("float64")
    _, s, vt = np.linalg.svd(m - m.mean(axis=0), full_matrices=False)
    var = s ** 2 / max(float(np.sum(s ** 2)), 1e-30)
    coords = m @ vt[:2].T
    return (_unflat(vt[0], final), _unflat(vt[1], final), coords,
            (float(var[0]), float(var[1])))


def _loss_fn(model: Any, x: np.ndarray, y: np.ndarray) -> Any:
    from workbench._tf import keras, tf
    from workbench.architectures import outputs_probabilities

    loss = keras.losses.SparseCategoricalCrossentropy(from_logits=not outputs_probabilities(model))
    base = [tf.constant(w) for w in _weights(model)]
    frozen = [v.value for v in model.non_trainable_weights]
    xt, yt = tf.constant(x), tf.constant(y)

    def at(d1: list[Any], d2: list[Any]) -> Any:
        @tf.function
        def f(a: Any, b: Any) -> Any:
            ws = [w + a * u + b * v for w, u, v in zip(base, d1, d2, strict=True)]
            out, _ = model.stateless_call(ws, frozen, xt, training=False)
            return loss(yt, out)
        return f

    return at


def loss_landscape(model: Any, x: Any, y: Any, *, directions: str = "random",
                   snapshots: list[list[np.ndarray]] | None = None, span: float = 1.0,
                   resolution: int = 21, seed: int = 0) -> Landscape:
    """Evaluate ``model``'s loss on a 2-D slice through its current (trained) weights.

    Args:
        model: a built Keras classifier (logits or softmax output).
        x, y: the data the loss is measured on (integer labels).
        directions: ``random`` (filter-normalized, Li et al. 2018) or ``pca`` (the two
            principal components of ``snapshots``, with the path projected on them).
        snapshots: weight lists recorded while training (:class:`WeightSnapshots`), for pca.
        span: the grid covers ``[-span, span]`` along each random direction; for pca the grid
            covers the path with a 25% margin, times ``span``.
        resolution: grid points per axis (made odd so the trained weights are the centre).

    Example:
        >>> from workbench import teach
        >>> land = teach.loss_landscape(model, x, y, resolution=11)      # doctest: +SKIP
        >>> land.loss[5, 5] == land.origin_loss                          # doctest: +SKIP
        True
    """
    from workbench._tf import tf

    if directions not in ("random", "pca"):
        raise ConfigError("directions", directions, "one of: random, pca")
    if not isinstance(resolution, int) or not 3 <= resolution <= 201:
        raise ConfigError("resolution", resolution, "an integer from 3 to 201")
    if not span > 0:
        raise ConfigError("span", span, "a positive number")
    x = np.asarray(x, dtype="float32")
    y = np.asarray(y)
    if len(x) != len(y) or len(x) == 0:
        raise ConfigError("y", len(y), f"as many labels as inputs ({len(x)})")
    resolution += 1 - resolution % 2
    final = _weights(model)
    path = explained = None
    if directions == "random":
        d1, d2 = random_directions(model, seed)
        ra = rb = (-span, span)
    else:
        if not snapshots:
            raise ConfigError("snapshots", None, "weight snapshots from WeightSnapshots, for pca")
        d1, d2, path, explained = pca_directions(snapshots, final)
        reach = np.maximum(np.abs(path).max(axis=0), 1e-6) * 1.25 * span
        ra, rb = (-reach[0], reach[0]), (-reach[1], reach[1])
    alphas = np.linspace(*ra, resolution)
    betas = np.linspace(*rb, resolution)
    alphas[resolution // 2] = betas[resolution // 2] = 0.0
    f = _loss_fn(model, x, y)([tf.constant(d) for d in d1], [tf.constant(d) for d in d2])

    def at(a: float, b: float) -> float:
        return float(f(tf.constant(a, tf.float32), tf.constant(b, tf.float32)))

    grid = np.array([[at(a, b) for a in alphas] for b in betas])
    path_loss = None if path is None else np.array([at(a, b) for a, b in path])
    return Landscape(alphas, betas, grid, at(0.0, 0.0), directions, path, path_loss, explained)


def weight_snapshots(every: int = 1) -> Any:
    """A Keras callback recording the trainable weights at the start and after every
    ``every`` batches; its ``snapshots`` list feeds ``loss_landscape(directions="pca")``.

    Example:
        >>> from workbench import teach
        >>> snap = teach.weight_snapshots(every=5)                   # doctest: +SKIP
        >>> model.fit(x, y, epochs=3, callbacks=[snap])               # doctest: +SKIP
        >>> len(snap.snapshots)                                       # doctest: +SKIP
    """
    from workbench._tf import keras

    if not isinstance(every, int) or every < 1:
        raise ConfigError("every", every, "a positive integer")

    class WeightSnapshots(keras.callbacks.Callback):
        def __init__(self) -> None:
            super().__init__()
            self.snapshots: list[list[np.ndarray]] = []
            self._batches = 0

        def on_train_begin(self, logs: Any = None) -> None:
            self.snapshots.append(_weights(self.model))

        def on_train_batch_end(self, batch: int, logs: Any = None) -> None:
            self._batches += 1
            if self._batches % every == 0:
                self.snapshots.append(_weights(self.model))

    return WeightSnapshots()


def landscape_figure(land: Landscape, surface: bool = False, title: str | None = None) -> Any:
    """The slice as a contour map (or a 3-D surface), with the projected path when there is one.

    Example:
        >>> from workbench import teach
        >>> fig = teach.landscape_figure(land)                        # doctest: +SKIP
    """
    import plotly.graph_objects as go

    z = np.log10(land.loss)
    name = "filter-normalized random directions" if land.kind == "random" else (
        "PCA directions of the training path "
        f"({land.explained[0]:.0%} + {land.explained[1]:.0%} of its variance)"
        if land.explained else "PCA directions")
    ct = {"title": {"text": "log10 loss", "side": "right"}}
    if surface:
        fig = go.Figure(go.Surface(x=land.alphas, y=land.betas, z=z, colorscale="Viridis",
                                   colorbar=ct, name="loss"))
        if land.path is not None:
            fig.add_trace(go.Scatter3d(x=land.path[:, 0], y=land.path[:, 1],
                                       z=np.log10(land.path_loss), mode="lines+markers",
                                       marker={"size": 3, "color": "red"},
                                       line={"color": "red", "width": 4}, name="training path"))
        fig.update_layout(scene={"xaxis_title": "α (d1)", "yaxis_title": "β (d2)",
                                 "zaxis_title": "log10 loss"})
    else:
        fig = go.Figure(go.Contour(x=land.alphas, y=land.betas, z=z, colorscale="Viridis",
                                   ncontours=25, colorbar=ct, name="loss"))
        if land.path is not None:
            fig.add_trace(go.Scatter(x=land.path[:, 0], y=land.path[:, 1], mode="lines+markers",
                                     marker={"size": 4, "color": "red"}, name="training path",
                                     line={"color": "red"}))
        fig.add_trace(go.Scatter(x=[0], y=[0], mode="markers", name="trained weights",
                                 marker={"symbol": "star", "size": 14, "color": "white",
                                         "line": {"color": "black", "width": 1}}))
        fig.update_layout(xaxis_title="α (d1)", yaxis_title="β (d2)")
    fig.update_layout(title=title or f"loss landscape: {name}", template="plotly_white",
                      height=520, legend={"orientation": "h", "x": 0, "y": 1.0,
                                          "xanchor": "left", "yanchor": "bottom"})
    return fig
