"""A TensorFlow-Playground-style classifier of 2-D points, in Jupyter and headless.

Everything Playground toggles (data set, noise, input features, hidden layers, activation,
learning rate, batch size, L1/L2 regularization) plus what it lacks: any workbench optimizer
and learning-rate schedule, and pruning / n-bit quantization of the trained network applied
live to the decision boundary (``workbench.compress`` does the compressing).
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

import numpy as np

from workbench.exceptions import ConfigError
from workbench.teach.playground import _figures
from workbench.teach.playground._figures import WINDOW
from workbench.teach.playground._options import FEATURES, PLAYGROUND_FIELDS


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

        for name, value in (("dataset", dataset), ("noise", noise), ("n_points", n_points),
                            ("test_fraction", test_fraction), ("regularization", regularization),
                            ("reg_rate", reg_rate)):
            PLAYGROUND_FIELDS[name].check(value)
        if not features:
            raise ConfigError("features", list(features), "one or more of: "
                              + ", ".join(FEATURES))
        PLAYGROUND_FIELDS["features"].check(list(features))
        units = list(hidden_units)
        if units:
            PLAYGROUND_FIELDS["hidden_units"].check(units)
        if len(units) > 8:
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
        from workbench.callbacks.stop import StopFlag
        from workbench.training.schedules import effective_batch_size

        if not isinstance(epochs, int) or epochs < 1:
            raise ConfigError("epochs", epochs, "a positive integer")

        with self._lock:
            h = self.model.fit(self.featurize(self.x_train), self.y_train,
                               batch_size=effective_batch_size(self.cfg.batch_size,
                                                               len(self.x_train)),
                               epochs=self.epoch + epochs,
                               initial_epoch=self.epoch, shuffle=True, verbose=0,
                               callbacks=[StopFlag(stop)] if stop is not None else [])
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
        from workbench.compress.pruning import apply_masks
        from workbench.config import FIELDS

        FIELDS["prune_ratio"].check(ratio)
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
        from workbench.config import FIELDS

        FIELDS["prune_ratio"].check(prune_ratio)
        FIELDS["quant_bits"].check(quant_bits)
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

        Drawn by :func:`workbench.teach.playground._figures.figure`.
        """
        return _figures.figure(self, resolution=resolution)

    def neuron_figure(self, resolution: int = 40, max_units: int = 8) -> Any:
        """What each hidden neuron computes over the plane, one small map per unit.

        Drawn by :func:`workbench.teach.playground._figures.neuron_figure`.
        """
        return _figures.neuron_figure(self, resolution=resolution, max_units=max_units)

    def animate(self, epochs: int, every: int = 5, resolution: int = 60) -> Any:
        """Train ``epochs`` more epochs; the boundary as an animation, a frame per ``every``.

        Drawn by :func:`workbench.teach.playground._figures.animate`.
        """
        return _figures.animate(self, epochs=epochs, every=every, resolution=resolution)

    def loss_figure(self) -> Any:
        """Train and test loss per epoch.

        Drawn by :func:`workbench.teach.playground._figures.loss_figure`.
        """
        return _figures.loss_figure(self)

    def widget(self) -> Any:
        """The interactive Playground: controls, a live decision boundary and loss curve.

        Example:
            >>> teach.Playground().widget()                           # doctest: +SKIP
        """
        from workbench.teach.playground._view import PlaygroundView

        return PlaygroundView(self).widget
