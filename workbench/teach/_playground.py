"""A TensorFlow-Playground-style classifier of 2-D points, in Jupyter and headless.

Everything Playground toggles (data set, noise, input features, hidden layers, activation,
learning rate, batch size, L1/L2 regularization) plus what it lacks: any workbench optimizer
and learning-rate schedule, and pruning / n-bit quantization of the trained network applied
live to the decision boundary (``workbench.compress`` does the compressing).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from workbench.exceptions import ConfigError, WorkbenchError

TWO_D = ("moons", "circles", "spirals")
REGULARIZATION = ("none", "l1", "l2")
#: Input features computed from a point (x1, x2), the data being scaled to about [-1, 1].
FEATURES: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "x1": lambda p: p[:, 0],
    "x2": lambda p: p[:, 1],
    "x1^2": lambda p: p[:, 0] ** 2,
    "x2^2": lambda p: p[:, 1] ** 2,
    "x1*x2": lambda p: p[:, 0] * p[:, 1],
    "sin(x1)": lambda p: np.sin(np.pi * p[:, 0]),
    "sin(x2)": lambda p: np.sin(np.pi * p[:, 1]),
}
WINDOW = (-1.5, 1.5)
CLASS_COLORS = ("#f59322", "#0877bd")  # Playground's orange and blue


def _xent(logits: np.ndarray, y: np.ndarray) -> float:
    z = logits - logits.max(axis=1, keepdims=True)
    logp = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
    return float(-logp[np.arange(len(y)), y].mean())


class Playground:
    """A small MLP learning a 2-D data set, with its decision boundary.

    Args:
        dataset: ``moons``, ``circles`` or ``spirals``.
        noise: the data set's noise (None = its default).
        n_points: points generated; ``test_fraction`` of them are held out.
        features: input features from :data:`FEATURES`.
        hidden_units: widths of the hidden layers (empty: a linear classifier).
        activation, optimizer, learning_rate, lr_schedule, batch_size, seed: as in
            ``wb.ExperimentConfig`` (same names, same checks).
        epochs: the horizon of the learning-rate schedule (training may go on past it).
        regularization, reg_rate: ``none``, ``l1`` or ``l2`` on the kernels, and its rate.

    Example:
        >>> from workbench import teach
        >>> pg = teach.Playground("moons", hidden_units=(8, 8))          # doctest: +SKIP
        >>> pg.train(100).accuracy("test") > 0.95                        # doctest: +SKIP
        True
        >>> pg.compress(prune_ratio=0.5, quant_bits=4).accuracy("test")  # doctest: +SKIP
    """

    def __init__(self, dataset: str = "moons", *, noise: float | None = None,
                 n_points: int = 500, test_fraction: float = 0.5,
                 features: Sequence[str] = ("x1", "x2"),
                 hidden_units: Sequence[int] = (8, 8), activation: str = "tanh",
                 optimizer: str = "adam", learning_rate: float = 0.03,
                 lr_schedule: str = "constant", batch_size: int = 10, epochs: int = 100,
                 regularization: str = "none", reg_rate: float = 0.0, seed: int = 0) -> None:
        from workbench.config import ExperimentConfig

        if dataset not in TWO_D:
            raise ConfigError("dataset", dataset, "one of: " + ", ".join(TWO_D))
        if noise is not None and not 0.0 <= noise <= 1.0:
            raise ConfigError("noise", noise, "a number from 0 to 1, or None for the default")
        if not isinstance(n_points, int) or not 20 <= n_points <= 100_000:
            raise ConfigError("n_points", n_points, "an integer from 20 to 100000")
        if not 0.05 <= test_fraction <= 0.9:
            raise ConfigError("test_fraction", test_fraction, "a number from 0.05 to 0.9")
        bad = [f for f in features if f not in FEATURES]
        if bad or not features:
            raise ConfigError("features", list(features), "one or more of: " + ", ".join(FEATURES))
        if regularization not in REGULARIZATION:
            raise ConfigError("regularization", regularization,
                              "one of: " + ", ".join(REGULARIZATION))
        if not reg_rate >= 0:
            raise ConfigError("reg_rate", reg_rate, "a number >= 0")
        units = list(hidden_units)
        if len(units) > 8 or not all(isinstance(u, int) and 1 <= u <= 1024 for u in units):
            raise ConfigError("hidden_units", hidden_units,
                              "up to 8 layer widths from 1 to 1024 (empty: no hidden layer)")
        self.hidden_units = units
        self.cfg = ExperimentConfig(dataset=dataset, activation=activation, optimizer=optimizer,
                                    learning_rate=learning_rate, lr_schedule=lr_schedule,
                                    batch_size=batch_size, epochs=epochs, seed=seed)
        self.noise, self.n_points, self.test_fraction = noise, n_points, test_fraction
        self.features = tuple(features)
        self.regularization, self.reg_rate = regularization, float(reg_rate)
        self.prune_ratio: float = 0.0
        self.quant_bits: int | None = None
        self._lock = threading.RLock()
        self._make_data()
        self.reset()

    # --- data and model ---

    def _make_data(self) -> None:
        from workbench.data import make_2d

        x, y = make_2d(self.cfg.dataset, n=self.n_points, noise=self.noise, seed=self.cfg.seed)
        order = np.random.default_rng(self.cfg.seed).permutation(len(x))
        n_test = round(self.test_fraction * len(x))
        self.x_test, self.y_test = x[order[:n_test]], y[order[:n_test]]
        self.x_train, self.y_train = x[order[n_test:]], y[order[n_test:]]

    def featurize(self, points: np.ndarray) -> np.ndarray:
        """The model's inputs for ``(n, 2)`` points."""
        p = np.asarray(points, dtype="float32")
        return np.stack([FEATURES[f](p) for f in self.features], axis=1).astype("float32")

    def _compile(self, model: Any) -> None:
        """A fresh optimizer and schedule from the settings, cross-entropy on logits."""
        from workbench._tf import keras
        from workbench.training.optimizers import build_optimizer
        from workbench.training.schedules import keras_schedule, steps_per_epoch

        spe = steps_per_epoch(self.cfg, len(self.x_train))
        model.compile(optimizer=build_optimizer(self.cfg, keras_schedule(self.cfg, spe)),
                      loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                      jit_compile=False)

    def reset(self) -> Playground:
        """A freshly initialized network (same seed: the same initial weights)."""
        from workbench._tf import keras
        from workbench.training.experiment import seed_everything

        cfg = self.cfg
        seed_everything(cfg.seed)
        reg = {"none": None, "l1": keras.regularizers.L1(self.reg_rate),
               "l2": keras.regularizers.L2(self.reg_rate)}[self.regularization]
        layers: list[Any] = [keras.Input((len(self.features),))]
        layers += [keras.layers.Dense(u, activation=cfg.activation, kernel_regularizer=reg,
                                      name=f"hidden_{i + 1}")
                   for i, u in enumerate(self.hidden_units)]
        layers.append(keras.layers.Dense(2, kernel_regularizer=reg, name="output"))
        model = keras.Sequential(layers, name="playground")
        self._compile(model)
        with self._lock:
            self.model = model
            self.epoch = 0
            self.history: list[dict[str, float]] = []
            self._view: Any = None
            self.history.append(self._measure())
        return self

    def train(self, epochs: int = 1, stop: threading.Event | None = None) -> Playground:
        """Train ``epochs`` more epochs (one Keras ``fit``), then record the losses.

        ``stop`` (a ``threading.Event``) ends training after the current batch.
        """
        from workbench._tf import keras
        from workbench.training.schedules import effective_batch_size

        if not isinstance(epochs, int) or epochs < 1:
            raise ConfigError("epochs", epochs, "a positive integer")

        class _Halt(keras.callbacks.Callback):
            def on_train_batch_end(self, batch: int, logs: Any = None) -> None:
                if stop is not None and stop.is_set():
                    self.model.stop_training = True

        with self._lock:
            h = self.model.fit(self.featurize(self.x_train), self.y_train,
                               batch_size=effective_batch_size(self.cfg.batch_size,
                                                               len(self.x_train)),
                               epochs=self.epoch + epochs,
                               initial_epoch=self.epoch, shuffle=True, verbose=0,
                               callbacks=[_Halt()] if stop is not None else [])
            self.epoch += len(h.history.get("loss", []))
            self._view = None
            self.history.append(self._measure())
        return self

    def _measure(self) -> dict[str, float]:
        row: dict[str, float] = {"epoch": self.epoch}
        for split, x, y in (("train", self.x_train, self.y_train),
                            ("test", self.x_test, self.y_test)):
            logits = np.asarray(self.model(self.featurize(x), training=False))
            row[f"{split}_loss"] = _xent(logits, y)
            row[f"{split}_accuracy"] = float(np.mean(logits.argmax(1) == y))
        return row

    # --- compression of the trained network ---

    def prune_and_retrain(self, ratio: float, epochs: int = 10) -> Playground:
        """Prune the network to ``ratio`` of its weights (global magnitude), then retrain the
        survivors for ``epochs`` with the pruned weights held at exactly zero (Han et al.'s
        prune-then-retrain, against the one-shot pruning that :meth:`compress` shows).

        The pruned, retrained network becomes the network, and the compressed view set by
        :meth:`compress` is cleared (the accuracy is that of the retrained network itself, not
        of it quantized again); training it further with :meth:`train` lets the zeros grow
        back.

        Example:
            >>> pg.prune_and_retrain(0.7, epochs=10).accuracy("test")  # doctest: +SKIP
        """
        import workbench.compress as C
        from workbench.compress.core import _check_ratio, apply_masks

        _check_ratio(ratio)
        if not isinstance(epochs, int) or epochs < 1:
            raise ConfigError("epochs", epochs, "a positive integer")
        from workbench.training.schedules import effective_batch_size

        with self._lock:
            wrapped = C.wrap(self.model, prune="unstructured")
            apply_masks(wrapped, float(ratio), "global")
            self._compile(wrapped)
            wrapped.fit(self.featurize(self.x_train), self.y_train, verbose=0, shuffle=True,
                        batch_size=effective_batch_size(self.cfg.batch_size,
                                                        len(self.x_train)), epochs=epochs)
            model = C.strip(wrapped)
            self._compile(model)
            self.model = model
            self.epoch += epochs
            self.prune_ratio, self.quant_bits = 0.0, None
            self._view = None
            self.history.append(self._measure())
        return self

    def compress(self, prune_ratio: float = 0.0, quant_bits: int | None = None) -> Playground:
        """Show (and measure) the network magnitude-pruned to ``prune_ratio`` of its weights
        and/or quantized to ``quant_bits``; training continues on the dense network.

        ``compress()`` with no arguments goes back to the dense network.
        """
        from workbench.compress.core import _check_bits, _check_ratio

        _check_ratio(prune_ratio)
        if quant_bits is not None:
            _check_bits(quant_bits)
        with self._lock:
            self.prune_ratio, self.quant_bits = float(prune_ratio), quant_bits
            self._view = None
        return self

    @property
    def compressed(self) -> bool:
        """True when a prune ratio or a bit-width is set."""
        return self.prune_ratio > 0 or self.quant_bits is not None

    def view_model(self) -> Any:
        """The network as drawn: the trained one, pruned and/or quantized as set."""
        import workbench.compress as C

        with self._lock:
            if not self.compressed:
                return self.model
            if self._view is None:
                m = self.model
                if self.prune_ratio > 0:
                    m = C.prune(m, self.prune_ratio, scope="global")
                if self.quant_bits is not None:
                    m = C.quantize(m, self.quant_bits, granularity="per_tensor")
                self._view = m
            return self._view

    def predict_proba(self, points: np.ndarray, compressed: bool = True) -> np.ndarray:
        """P(class 1) at ``(n, 2)`` points."""
        model = self.view_model() if compressed else self.model
        logits = np.asarray(model(self.featurize(points), training=False), dtype="float64")
        z = logits - logits.max(axis=1, keepdims=True)
        p = np.exp(z)
        return p[:, 1] / p.sum(axis=1)

    def accuracy(self, split: str = "test", compressed: bool = True) -> float:
        """Accuracy on ``train`` or ``test`` points (of the compressed view when set)."""
        if split not in ("train", "test"):
            raise ConfigError("split", split, "one of: train, test")
        x, y = (self.x_train, self.y_train) if split == "train" else (self.x_test, self.y_test)
        return float(np.mean((self.predict_proba(x, compressed) > 0.5) == y))

    def weight_stats(self) -> dict[str, Any]:
        """Sparsity and the most distinct values in any kernel of the drawn network."""
        kernels = [lay.kernel.numpy() for lay in self.view_model().layers
                   if hasattr(lay, "kernel")]
        n = sum(k.size for k in kernels)
        return {"weights": n,
                "sparsity": sum(int(np.sum(k == 0)) for k in kernels) / max(n, 1),
                "max_distinct_per_layer": max(np.unique(k).size for k in kernels)}

    # --- drawing ---

    def boundary(self, resolution: int = 80) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(xs, ys, p)`` with ``p[j, i]`` = P(class 1) at ``(xs[i], ys[j])``."""
        xs = ys = np.linspace(*WINDOW, resolution)
        gx, gy = np.meshgrid(xs, ys)
        p = self.predict_proba(np.c_[gx.ravel(), gy.ravel()]).reshape(gx.shape)
        return xs, ys, p

    def _compression_label(self) -> str:
        return ", ".join(p for p in (f"{self.prune_ratio:.0%} pruned" if self.prune_ratio
                                     else "", f"{self.quant_bits}-bit" if self.quant_bits
                                     else "") if p)

    def summary(self, sep: str = "; ") -> str:
        """Epoch, losses, accuracies, and the compression when set (after ``sep``)."""
        h = self.history[-1]
        s = (f"epoch {self.epoch}: train loss {h['train_loss']:.3f}, test loss "
             f"{h['test_loss']:.3f}, test accuracy {h['test_accuracy']:.1%}")
        if self.compressed:
            st = self.weight_stats()
            s += (f"{sep}{self._compression_label()}: test accuracy "
                  f"{self.accuracy('test'):.1%}, {st['sparsity']:.0%} zeros, at most "
                  f"{st['max_distinct_per_layer']} distinct values in a layer")
        return s

    def title(self) -> str:
        """The figure's title: epoch and test accuracy, dense and as drawn."""
        s = (f"epoch {self.epoch}: test accuracy "
             f"{self.accuracy('test', compressed=False):.1%}")
        if self.compressed:
            s += f"<br>{self._compression_label()}: {self.accuracy('test'):.1%}"
        return s

    def figure(self, resolution: int = 80) -> Any:
        """The decision boundary over the points (train: white edge, test: black edge).

        Example:
            >>> fig = pg.figure()                                     # doctest: +SKIP
        """
        import plotly.graph_objects as go

        xs, ys, p = self.boundary(resolution)
        scale = [[0.0, CLASS_COLORS[0]], [0.5, "#e8eaeb"], [1.0, CLASS_COLORS[1]]]
        fig = go.Figure([
            go.Heatmap(x=xs, y=ys, z=p, zmin=0, zmax=1, colorscale=scale, opacity=0.75,
                       colorbar={"title": {"text": "P(blue)"}}, name="P(class 1)"),
            go.Contour(x=xs, y=ys, z=p, contours={"start": 0.5, "end": 0.5, "size": 1,
                                                 "coloring": "lines"},
                       line={"color": "black", "width": 2}, showscale=False,
                       colorscale=[[0, "black"], [1, "black"]],
                       hoverinfo="skip", name="boundary"),
        ])
        for split, x, y, edge in (("train", self.x_train, self.y_train, "white"),
                                  ("test", self.x_test, self.y_test, "black")):
            fig.add_trace(go.Scatter(x=x[:, 0], y=x[:, 1], mode="markers",
                                     name=f"{split} ({edge} edge)",
                                     marker={"color": [CLASS_COLORS[int(c)] for c in y],
                                             "size": 6, "line": {"color": edge, "width": 1}}))
        fig.update_layout(title=self.title(), template="plotly_white", height=500,
                          width=560, xaxis={"range": list(WINDOW), "title": "x1",
                                            "constrain": "domain"},
                          yaxis={"range": list(WINDOW), "title": "x2", "scaleanchor": "x",
                                 "constrain": "domain"},
                          title_font_size=12, margin={"t": 110},
                          legend={"orientation": "h", "x": 1.0, "xanchor": "right", "y": 1.0,
                                  "yanchor": "bottom"})
        return fig

    def neuron_figure(self, resolution: int = 40, max_units: int = 8) -> Any:
        """What each hidden neuron computes: its activation over the plane, one small map per
        unit, one row per hidden layer (Playground's neuron thumbnails), of the network as drawn
        (pruned or quantized when set).

        Example:
            >>> pg.neuron_figure().layout.title.text                      # doctest: +SKIP
        """
        import plotly.graph_objects as go
        from plotly.subplots import make_subplots

        from workbench._tf import keras

        model = self.view_model()
        hidden = [lay for lay in model.layers if lay.name.startswith("hidden_")]
        if not hidden:
            raise ConfigError("hidden_units", [], "at least one hidden layer to show neurons")
        xs = ys = np.linspace(*WINDOW, resolution)
        gx, gy = np.meshgrid(xs, ys)
        inputs = self.featurize(np.c_[gx.ravel(), gy.ravel()])
        probe = keras.Model(model.inputs[0], [lay.output for lay in hidden])
        outs = probe(inputs, training=False)
        outs = [np.asarray(o) for o in (outs if isinstance(outs, list | tuple) else [outs])]
        cols = min(max(o.shape[1] for o in outs), max_units)
        fig = make_subplots(rows=len(outs), cols=cols, horizontal_spacing=0.01,
                            vertical_spacing=0.04,
                            row_titles=[f"layer {i + 1}" for i in range(len(outs))])
        for r, o in enumerate(outs, start=1):
            lim = float(np.abs(o).max()) or 1.0
            for c in range(min(o.shape[1], cols)):
                fig.add_trace(go.Heatmap(x=xs, y=ys, z=o[:, c].reshape(gx.shape),
                                         zmin=-lim, zmax=lim, showscale=False,
                                         colorscale=[[0, CLASS_COLORS[0]], [0.5, "#f5f5f5"],
                                                     [1, CLASS_COLORS[1]]],
                                         hovertemplate=f"layer {r}, unit {c + 1}: "
                                                       "%{z:.3f}<extra></extra>"), row=r, col=c + 1)
        fig.update_xaxes(showticklabels=False, constrain="domain")
        fig.update_yaxes(showticklabels=False, constrain="domain")
        fig.update_layout(title=f"what each hidden neuron computes ({self._compression_label()})"
                          if self.compressed else "what each hidden neuron computes",
                          template="plotly_white", height=130 * len(outs) + 90,
                          width=110 * cols + 120, margin={"l": 20, "r": 60, "t": 60, "b": 20})
        return fig

    def animate(self, epochs: int, every: int = 5, resolution: int = 60) -> Any:
        """Train ``epochs`` more epochs and return the boundary as an animation, one frame
        every ``every`` epochs (play button and epoch slider), for static notebooks.

        Example:
            >>> pg.animate(60, every=10).frames[-1].name               # doctest: +SKIP
            '60'
        """
        import plotly.graph_objects as go

        from workbench.teach._descent import add_animation_controls

        if not isinstance(every, int) or every < 1:
            raise ConfigError("every", every, "a positive integer")
        frames = []

        def snap() -> None:
            _, _, p = self.boundary(resolution)
            frames.append(go.Frame(data=[go.Heatmap(z=p), go.Contour(z=p)], traces=[0, 1],
                                   name=str(self.epoch),
                                   layout={"title": {"text": self.title()}}))

        snap()
        done = 0
        while done < epochs:
            k = min(every, epochs - done)
            self.train(k)
            done += k
            snap()
        fig = self.figure(resolution)
        fig.frames = frames
        add_animation_controls(fig, [f.name for f in frames], "epoch ", frame_ms=300,
                               redraw=True, y=1.15)
        return fig

    def loss_figure(self) -> Any:
        """Train and test loss per epoch."""
        import plotly.graph_objects as go

        ep = [h["epoch"] for h in self.history]
        fig = go.Figure([go.Scatter(x=ep, y=[h["train_loss"] for h in self.history],
                                    name="train loss", mode="lines"),
                         go.Scatter(x=ep, y=[h["test_loss"] for h in self.history],
                                    name="test loss", mode="lines")])
        fig.update_layout(title="loss", template="plotly_white", height=300, width=420,
                          xaxis_title="epoch", yaxis_title="cross-entropy",
                          legend={"orientation": "h", "y": 1.0, "yanchor": "bottom", "x": 1.0,
                                  "xanchor": "right"})
        return fig

    def widget(self) -> Any:
        """The interactive Playground: controls, a live decision boundary and loss curve.

        Example:
            >>> teach.Playground().widget()                           # doctest: +SKIP
        """
        return PlaygroundView(self).widget


class PlaygroundView:
    """The widgets around a :class:`Playground`: Run/Pause/Step/Reset, every setting, and
    live pruning / quantization. Training runs in a background thread, so Pause responds."""

    def __init__(self, pg: Playground) -> None:
        import ipywidgets as W
        import plotly.graph_objects as go

        from workbench.config import FIELDS
        from workbench.data import TWO_D_NOISE

        self.pg = pg
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        c = pg.cfg
        lay = W.Layout(width="255px")
        style = {"description_width": "95px"}
        self.controls = {
            "dataset": W.Dropdown(options=TWO_D, value=c.dataset, description="data set"),
            "noise": W.FloatSlider(value=TWO_D_NOISE[c.dataset] if pg.noise is None
                                   else pg.noise, min=0.0, max=0.5, step=0.01,
                                   description="noise"),
            "features": W.SelectMultiple(options=tuple(FEATURES), value=pg.features, rows=4,
                                         description="features"),
            "hidden_units": W.Text(value=",".join(map(str, pg.hidden_units)),
                                   description="hidden", placeholder="widths, e.g. 8,8"),
            "activation": W.Dropdown(options=FIELDS["activation"].choices, value=c.activation,
                                     description="activation"),
            "optimizer": W.Dropdown(options=FIELDS["optimizer"].choices, value=c.optimizer,
                                    description="optimizer"),
            "learning_rate": W.FloatLogSlider(value=c.lr, min=-4, max=0, step=0.1,
                                              description="lr", readout_format=".4f"),
            "lr_schedule": W.Dropdown(options=FIELDS["lr_schedule"].choices,
                                      value=c.lr_schedule, description="schedule"),
            "batch_size": W.IntSlider(value=c.batch_size, min=0, max=100,
                                      description="batch",
                                      tooltip="points per step; 0 = all of them"),
            "regularization": W.Dropdown(options=REGULARIZATION, value=pg.regularization,
                                         description="regularize"),
            "reg_rate": W.FloatLogSlider(value=pg.reg_rate or 1e-3, min=-5, max=-1, step=0.5,
                                         description="reg. rate", readout_format=".0e"),
        }
        for w in self.controls.values():
            w.layout, w.style = lay, style
            w.observe(self._rebuild, names="value")
        self.prune = W.FloatSlider(value=0.0, min=0.0, max=0.99, step=0.05,
                                   description="prune ratio", layout=lay, style=style)
        # 0 stands for float32: a Dropdown shows a None value as an empty box
        self.bits = W.Dropdown(options=[("float32", 0)] + [(f"{b} bits", b)
                                                           for b in (8, 6, 4, 3, 2)],
                               value=0, description="quantize", layout=lay, style=style)
        self.prune.observe(self._compress, names="value")
        self.retrain_button = W.Button(description="Prune + retrain", icon="cut",
                                       tooltip="prune to the slider's ratio, then retrain "
                                               "10 epochs with the pruned weights held at 0")
        self.retrain_button.on_click(lambda _: self.prune_and_retrain())
        self.bits.observe(self._compress, names="value")
        self.run_button = W.Button(description="Run", icon="play", button_style="success")
        self.step_button = W.Button(description="Step", icon="step-forward")
        self.reset_button = W.Button(description="Reset", icon="refresh")
        self.run_button.on_click(lambda _: self.toggle())
        self.step_button.on_click(lambda _: self.step())
        self.reset_button.on_click(lambda _: self.reset())
        self.status = W.HTML()
        self.boundary_fig = go.FigureWidget(pg.figure().update_layout(width=470, height=470))
        self.loss_fig = go.FigureWidget(pg.loss_figure().update_layout(width=300, height=260,
                                                                       margin={"t": 40}))
        side = W.Layout(min_width="270px")
        self.widget = W.VBox([
            W.HBox([self.run_button, self.step_button, self.reset_button]),
            W.HBox([W.VBox(list(self.controls.values()), layout=side), self.boundary_fig,
                    W.VBox([self.loss_fig, W.HTML("<b>compress the trained network</b>"),
                            self.prune, self.bits, self.retrain_button], layout=side)]),
            self.status])
        self._show()

    @property
    def running(self) -> bool:
        """True while the background training thread is alive."""
        return self._thread is not None and self._thread.is_alive()

    def _say(self, text: str, error: bool = False) -> None:
        import html

        color = "#b00020" if error else "#333"
        self.status.value = f"<span style='color:{color}'>{html.escape(text)}</span>"

    def _show(self) -> None:
        fresh, loss = self.pg.figure(), self.pg.loss_figure()
        with self.boundary_fig.batch_update():
            for old, new in zip(self.boundary_fig.data, fresh.data, strict=True):
                if new.type in ("heatmap", "contour"):
                    old.z = new.z
                else:
                    old.x, old.y, old.marker.color = new.x, new.y, new.marker.color
            self.boundary_fig.layout.title.text = fresh.layout.title.text
        with self.loss_fig.batch_update():
            for k, tr in enumerate(loss.data):
                self.loss_fig.data[k].x, self.loss_fig.data[k].y = tr.x, tr.y
        self._say(self.pg.summary())

    def _settings(self) -> dict[str, Any]:
        v = {k: w.value for k, w in self.controls.items()}
        try:
            units = [int(s) for s in v["hidden_units"].replace(" ", "").split(",") if s]
        except ValueError:
            raise ConfigError("hidden_units", v["hidden_units"],
                              "comma-separated positive integers, e.g. 8,8") from None
        return {"dataset": v["dataset"], "noise": v["noise"], "features": v["features"],
                "hidden_units": units, "activation": v["activation"],
                "optimizer": v["optimizer"], "learning_rate": v["learning_rate"],
                "lr_schedule": v["lr_schedule"], "batch_size": v["batch_size"],
                "regularization": v["regularization"],
                "reg_rate": v["reg_rate"] if v["regularization"] != "none" else 0.0,
                "n_points": self.pg.n_points, "test_fraction": self.pg.test_fraction,
                "epochs": self.pg.cfg.epochs, "seed": self.pg.cfg.seed}

    def _rebuild(self, _change: Any = None) -> None:
        """A changed setting builds a new Playground (data and network), as Playground does."""
        self.pause()
        try:
            pg = Playground(**self._settings())
        except WorkbenchError as e:
            self._say(f"not applied: {e}", error=True)
            return
        pg.compress(self.prune.value, self.bits.value or None)
        self.pg = pg
        self._show()

    def _compress(self, _change: Any = None) -> None:
        self.pg.compress(self.prune.value, self.bits.value or None)
        self._show()

    def _loop(self) -> None:
        try:
            while not self._stop.is_set():
                self.pg.train(1, stop=self._stop)
                self._show()
        except Exception as e:  # shown in the UI: never a dead widget
            self._say(f"training stopped: {type(e).__name__}: {e}", error=True)
        finally:
            self.run_button.description, self.run_button.icon = "Run", "play"

    def toggle(self) -> None:
        """Run, or pause a run."""
        if self.running:
            self.pause()
            return
        self._stop.clear()
        self.run_button.description, self.run_button.icon = "Pause", "pause"
        self._thread = threading.Thread(target=self._loop, daemon=True, name="wb-playground")
        self._thread.start()

    def pause(self, timeout: float = 10.0) -> None:
        """Stop the training thread (after its current batch) and wait for it."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def step(self) -> None:
        """One epoch, in the foreground."""
        self.pause()
        self.pg.train(1)
        self._show()

    def prune_and_retrain(self, epochs: int = 10) -> None:
        """Prune the network to the slider's ratio and retrain it (in the foreground)."""
        ratio = self.prune.value
        if ratio <= 0:
            self._say("set the prune ratio first: it is the fraction of weights removed",
                      error=True)
            return
        self.pause()
        self.pg.prune_and_retrain(ratio, epochs)
        self.prune.value = 0.0  # the network itself is sparse now; the view shows it as is
        self._show()

    def reset(self) -> None:
        """Re-initialize the network."""
        self.pause()
        self.pg.reset()
        self._show()
