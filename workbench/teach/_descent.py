"""Gradient descent on 2-D surfaces, stepped by the real Keras optimizers.

A surface is the mean of ``n_examples`` per-example losses ``f_i(w) = f(w) + n_i . w`` whose
noise vectors ``n_i`` sum to zero, so the full-batch loss is exactly ``f`` while a mini-batch
of ``B`` examples sees ``f`` plus a random tilt: that is what makes stochastic and mini-batch
descent wander. Every update is ``optimizer.apply_gradients`` of a Keras optimizer on a
2-parameter ``keras.Variable``, the whole loop compiled into one ``tf.function``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from workbench.exceptions import ConfigError
from workbench.fields import FieldSpec
from workbench.figures import PALETTE

OPTIMIZERS = ("sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adam")
BATCHES = ("full", "minibatch", "stochastic")
SCHEDULES = ("constant", "inverse_sqrt")

#: Each update rule as Keras implements it (g_t is the batch gradient at w_t).
FORMULAS: dict[str, str] = {
    "full": r"g_t = \nabla f(w_t) = \frac{1}{N}\sum_{i=1}^{N} \nabla f_i(w_t)",
    "minibatch": r"g_t = \frac{1}{B}\sum_{i \in \mathcal{B}_t} \nabla f_i(w_t)"
                 r"\quad (\mathcal{B}_t\text{: the next } B \text{ examples of a shuffled epoch})",
    "stochastic": r"g_t = \nabla f_{i_t}(w_t) \quad (\text{one example per step})",
    "sgd": r"w_{t+1} = w_t - \alpha\, g_t",
    "momentum": r"v_{t+1} = \mu v_t - \alpha g_t, \qquad w_{t+1} = w_t + v_{t+1}",
    "nesterov": r"v_{t+1} = \mu v_t - \alpha g_t, \qquad w_{t+1} = w_t + \mu v_{t+1} - \alpha g_t",
    "inverse_sqrt": r"\alpha_t = \frac{\alpha_0}{\sqrt{t} + d}",
    "adagrad": r"G_{t+1} = G_t + g_t^2, \qquad w_{t+1} = w_t - \frac{\alpha\, g_t}"
               r"{\sqrt{G_{t+1}} + \epsilon} \quad (G_0 = 0.1)",
    "rmsprop": r"s_{t+1} = \rho s_t + (1-\rho) g_t^2, \qquad w_{t+1} = w_t - "
               r"\frac{\alpha\, g_t}{\sqrt{s_{t+1}} + \epsilon} \quad (\rho = 0.9)",
    "adam": r"m_{t+1} = \beta_1 m_t + (1-\beta_1) g_t,\; v_{t+1} = \beta_2 v_t + (1-\beta_2) g_t^2,"
            r"\; w_{t+1} = w_t - \alpha \frac{m_{t+1}/(1-\beta_1^{t+1})}"
            r"{\sqrt{v_{t+1}/(1-\beta_2^{t+1})} + \epsilon}",
}


@dataclass(frozen=True)
class Surface:
    """A 2-D loss surface ``f(x, y)`` written with arithmetic only (numpy and TensorFlow alike).

    Attributes:
        name, title: key and display name.
        formula: LaTeX of ``f``.
        fn: ``fn(x, y) -> f`` on floats, numpy arrays or tensors.
        x_range, y_range: the plotted window.
        start: the default starting point.
        minima: the global minima (points), for reference marks.
        noise: default standard deviation of the per-example gradient noise.
    """

    name: str
    title: str
    formula: str
    fn: Callable[[Any, Any], Any]
    x_range: tuple[float, float]
    y_range: tuple[float, float]
    start: tuple[float, float]
    minima: tuple[tuple[float, float], ...]
    noise: float = 1.0

    def __call__(self, x: Any, y: Any) -> Any:
        return self.fn(x, y)

    def grid(self, resolution: int = 120) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(xs, ys, z)`` on the plotted window, ``z[j, i] = f(xs[i], ys[j])``."""
        xs = np.linspace(*self.x_range, resolution)
        ys = np.linspace(*self.y_range, resolution)
        gx, gy = np.meshgrid(xs, ys)
        return xs, ys, self.fn(gx, gy)


SURFACES: dict[str, Surface] = {s.name: s for s in (
    Surface("bowl", "ill-conditioned quadratic bowl (curvatures 0.1 and 10)",
            r"f(x, y) = \tfrac{1}{2}(0.1\,x^2 + 10\,y^2)",
            lambda x, y: 0.05 * x * x + 5.0 * y * y, (-10.0, 10.0), (-3.0, 3.0), (-9.0, 2.0),
            ((0.0, 0.0),), noise=2.0),
    Surface("rosenbrock", "Rosenbrock's banana valley",
            r"f(x, y) = (1 - x)^2 + 100\,(y - x^2)^2",
            lambda x, y: (1.0 - x) ** 2 + 100.0 * (y - x * x) ** 2, (-2.0, 2.0), (-1.0, 3.0),
            (-1.5, 2.0), ((1.0, 1.0),), noise=5.0),
    Surface("saddle", "a saddle between two valleys",
            r"f(x, y) = x^2 - y^2 + \tfrac{1}{4} y^4",
            lambda x, y: x * x - y * y + 0.25 * y ** 4, (-2.5, 2.5), (-2.5, 2.5), (-2.0, 0.001),
            ((0.0, -math.sqrt(2.0)), (0.0, math.sqrt(2.0))), noise=1.0),
    Surface("himmelblau", "Himmelblau's function (four minima)",
            r"f(x, y) = (x^2 + y - 11)^2 + (x + y^2 - 7)^2",
            lambda x, y: (x * x + y - 11.0) ** 2 + (x + y * y - 7.0) ** 2, (-5.0, 5.0),
            (-5.0, 5.0), (0.0, -1.0),
            ((3.0, 2.0), (-2.805118, 3.131312), (-3.779310, -3.283186), (3.584428, -1.848127)),
            noise=10.0),
)}


def _spec(name: str, kind: str, default: Any, help: str, **kw: Any) -> FieldSpec:
    return FieldSpec(name, kind, default, help, "descent", **kw)


#: The settings of :func:`descend` and of the explorer, checked and rendered like config fields.
DESCENT_FIELDS: dict[str, FieldSpec] = {s.name: s for s in (
    _spec("surface", "str", "rosenbrock", "The loss surface.", choices=tuple(SURFACES),
          label="surface"),
    _spec("optimizer", "str", "sgd", "A Keras optimizer, by its workbench name.",
          choices=OPTIMIZERS, label="optimizer"),
    _spec("optimizers", "str_list", ("sgd", "momentum", "adam"), "The optimizers compared.",
          choices=OPTIMIZERS, label="optimizers"),
    _spec("learning_rate", "float", 1e-3, "alpha (alpha_0 with the inverse_sqrt schedule).",
          low=0.0, low_open=True, log=True, widget_max=1.0, label="learning rate"),
    _spec("momentum", "float", 0.9, "mu, for momentum and nesterov.", low=0.0, high=1.0,
          high_open=True, widget_max=0.99, label="momentum μ"),
    _spec("schedule", "str", "constant", "constant, or alpha_0 / (sqrt(t) + d).",
          choices=SCHEDULES, label="schedule"),
    _spec("batch", "str", "full", "The gradient: exact, of a mini-batch, or of one example.",
          choices=BATCHES, label="batch"),
    _spec("steps", "int", 200, "Number of updates.", low=1, high=100_000, widget_max=3000,
          label="steps"),
    _spec("batch_size", "int", 8, "Examples per mini-batch.", low=1, label="batch size"),
    _spec("n_examples", "int", 64, "Examples behind the gradient noise.", low=1,
          label="examples"),
    _spec("decay_d", "float", 1.0, "d of the inverse_sqrt schedule.", low=0.0, low_open=True,
          label="d"),
    _spec("noise", "float", None, "Per-example gradient noise (None: the surface's own).",
          low=0.0, optional=True, label="noise"),
)}


@dataclass
class Trajectory:
    """The path of one optimizer on one surface.

    Attributes:
        label: legend name.
        points: ``(steps + 1, 2)`` positions, the start included; cut at the first non-finite
            position (``diverged`` is then True).
        losses: the full-batch loss ``f`` at each point.
        learning_rates: the learning rate used at each step.
        settings: the arguments of :func:`descend` that made it.
    """

    label: str
    points: np.ndarray
    losses: np.ndarray
    learning_rates: np.ndarray
    diverged: bool = False
    settings: dict[str, Any] = field(default_factory=dict)

    def steps_to(self, loss_below: float) -> int | None:
        """The first step at which the loss is below ``loss_below`` (None: never)."""
        hit = np.flatnonzero(self.losses < loss_below)
        return int(hit[0]) if hit.size else None

    def sign_changes(self, axis: int = 1) -> int:
        """How many times coordinate ``axis`` crossed zero: oscillation across a valley."""
        s = np.sign(self.points[:, axis])
        s = s[s != 0]
        return int(np.count_nonzero(s[1:] != s[:-1]))


def surface(name: str | Surface) -> Surface:
    """A surface by name (``bowl``, ``rosenbrock``, ``saddle``, ``himmelblau``)."""
    if isinstance(name, Surface):
        return name
    return SURFACES[DESCENT_FIELDS["surface"].check(name)]


def _inverse_sqrt(alpha0: float, d: float) -> Any:
    from workbench._tf import keras

    class InverseSqrt(keras.optimizers.schedules.LearningRateSchedule):
        """alpha_t = alpha_0 / (sqrt(t) + d), t the step."""

        def __call__(self, step: Any) -> Any:
            t = keras.ops.cast(step, "float32")
            return alpha0 / (keras.ops.sqrt(t) + d)

        def get_config(self) -> dict[str, Any]:
            return {"alpha0": alpha0, "d": d}

    return InverseSqrt()


def _batch_noise(batch: str, steps: int, n_examples: int, batch_size: int, noise: float,
                 seed: int) -> np.ndarray:
    """The mean noise vector of each step's batch; exactly zero for the full batch."""
    if batch == "full" or noise == 0.0:
        return np.zeros((steps, 2), dtype="float32")
    rng = np.random.default_rng(seed)
    per_example = rng.normal(0.0, noise, size=(n_examples, 2))
    per_example -= per_example.mean(axis=0)  # sums to zero: the full batch sees f exactly
    b = 1 if batch == "stochastic" else min(batch_size, n_examples)
    per_epoch = n_examples // b
    order = np.concatenate([rng.permutation(n_examples)[: per_epoch * b]
                            for _ in range(math.ceil(steps / per_epoch))])
    return per_example[order[: steps * b]].reshape(steps, b, 2).mean(axis=1).astype("float32")


def descend(surface_name: str | Surface = "rosenbrock", optimizer: str = "sgd",
            learning_rate: float = 1e-3, steps: int = 200, *,
            start: Sequence[float] | None = None, momentum: float = 0.9,
            batch: str = "full", batch_size: int = 8, n_examples: int = 64,
            noise: float | None = None, schedule: str = "constant", decay_d: float = 1.0,
            seed: int = 0, label: str | None = None) -> Trajectory:
    """Run a Keras optimizer on a 2-D surface and return its path.

    Args:
        surface_name: a name from :data:`SURFACES` or a :class:`Surface`.
        optimizer: ``sgd``, ``momentum``, ``nesterov``, ``adagrad``, ``rmsprop`` or ``adam``
            (the workbench's own optimizer names; the Keras classes do the stepping).
        learning_rate: alpha (alpha_0 with ``schedule="inverse_sqrt"``).
        steps: number of updates.
        start: the starting point ``(x, y)``; None = the surface's default.
        momentum: mu, for ``momentum`` and ``nesterov``.
        batch: ``full`` (exact gradient), ``minibatch`` (``batch_size`` examples) or
            ``stochastic`` (one example).
        n_examples, noise: the per-example gradient noise that mini-batches see.
        schedule: ``constant`` or ``inverse_sqrt`` (alpha_0 / (sqrt(t) + d), ``d = decay_d``).
        seed: the noise and batch order.
        label: legend name; default from the settings.

    Example:
        >>> from workbench import teach
        >>> t = teach.descend("bowl", "adam", learning_rate=0.5, steps=100)  # doctest: +SKIP
        >>> t.losses[-1] < t.losses[0]                                      # doctest: +SKIP
        True
    """
    from workbench.config import ExperimentConfig
    from workbench.training.optimizers import build_optimizer

    surf = surface(surface_name)
    given = {"optimizer": optimizer, "batch": batch, "schedule": schedule, "steps": steps,
             "learning_rate": learning_rate, "momentum": momentum, "batch_size": batch_size,
             "n_examples": n_examples, "decay_d": decay_d, "noise": noise}
    for name, value in given.items():
        DESCENT_FIELDS[name].check(value)
    w0 = surf.start if start is None else tuple(start)
    if len(w0) != 2 or not all(isinstance(v, int | float) and math.isfinite(v) for v in w0):
        raise ConfigError("start", start, "two finite numbers (x, y)")
    noise = surf.noise if noise is None else float(noise)

    from workbench._tf import keras, tf

    lr: Any = (_inverse_sqrt(float(learning_rate), float(decay_d)) if schedule == "inverse_sqrt"
               else float(learning_rate))
    opt = build_optimizer(ExperimentConfig(optimizer=optimizer, momentum=momentum), lr)
    w = keras.Variable(np.asarray(w0, dtype="float32"), name="w")
    tilt = tf.constant(_batch_noise(batch, steps, n_examples, batch_size, noise, seed))

    @tf.function
    def loop(tilt: Any) -> Any:
        path = tf.TensorArray(tf.float32, size=steps + 1).write(0, w.value)
        rates = tf.TensorArray(tf.float32, size=steps)
        for i in tf.range(steps):
            with tf.GradientTape() as tape:
                loss = surf.fn(w[0], w[1]) + tf.reduce_sum(tilt[i] * w)
            grads = tape.gradient(loss, [w])
            rates = rates.write(i, tf.cast(opt.learning_rate, tf.float32))
            opt.apply_gradients(zip(grads, [w], strict=True))
            path = path.write(i + 1, w.value)
        return path.stack(), rates.stack()

    quiet = tf.get_logger()
    level = quiet.level
    quiet.setLevel("ERROR")  # each call traces a new loop: TF's "frequent retracing" is expected
    try:
        with np.errstate(over="ignore", invalid="ignore"):
            points, rates = (t.numpy().astype("float64") for t in loop(tilt))
    finally:
        quiet.setLevel(level)
    with np.errstate(over="ignore", invalid="ignore"):
        losses = surf.fn(points[:, 0], points[:, 1])
    bad = ~(np.isfinite(points).all(axis=1) & np.isfinite(losses) & (np.abs(points) < 1e6).all(1))
    cut = int(np.argmax(bad)) if bad.any() else len(points)
    settings = {"surface": surf.name, "optimizer": optimizer, "learning_rate": learning_rate,
                "steps": steps, "start": w0, "momentum": momentum, "batch": batch,
                "batch_size": batch_size, "n_examples": n_examples, "noise": noise,
                "schedule": schedule, "decay_d": decay_d, "seed": seed}
    return Trajectory(label or _label(settings), points[:cut], losses[:cut],
                      rates[: max(cut - 1, 0)], diverged=bool(bad.any()), settings=settings)


def _label(s: Mapping[str, Any]) -> str:
    name = s["optimizer"]
    if name in ("momentum", "nesterov"):
        name += f" μ={s['momentum']:g}"
    name += f" α={s['learning_rate']:g}"
    if s["schedule"] == "inverse_sqrt":
        name += f"/(√t+{s['decay_d']:g})"
    if s["batch"] != "full":
        name += f", {s['batch']}" + (f" B={s['batch_size']}" if s["batch"] == "minibatch" else "")
    return name


def compare(surface_name: str | Surface, runs: Mapping[str, Mapping[str, Any]],
            **common: Any) -> dict[str, Trajectory]:
    """Several :func:`descend` runs on one surface: ``{label: settings}`` over ``common``.

    Example:
        >>> from workbench import teach
        >>> paths = teach.compare("rosenbrock", {"SGD": {"optimizer": "sgd"},
        ...                       "momentum": {"optimizer": "momentum"}},
        ...                       learning_rate=1e-3, steps=300)           # doctest: +SKIP
    """
    return {label: descend(surface_name, **{**common, **settings}, label=label)
            for label, settings in runs.items()}


def _display_z(surf: Surface, z: np.ndarray) -> tuple[np.ndarray, str]:
    """Contours of ``log10(1 + f - min f)``: valleys stay visible next to steep walls."""
    return np.log10(1.0 + z - np.nanmin(z)), "log10(1 + f − min f)"


def _clip(points: np.ndarray, surf: Surface) -> np.ndarray:
    """Positions outside the window are drawn on its edge (a diverging path stays visible)."""
    pad_x = 0.05 * (surf.x_range[1] - surf.x_range[0])
    pad_y = 0.05 * (surf.y_range[1] - surf.y_range[0])
    return np.c_[np.clip(points[:, 0], surf.x_range[0] - pad_x, surf.x_range[1] + pad_x),
                 np.clip(points[:, 1], surf.y_range[0] - pad_y, surf.y_range[1] + pad_y)]


def _thinned(n: int, max_points: int) -> np.ndarray:
    """Indices of the steps drawn for an ``n``-point path: all when short, else the first 50
    and evenly spaced ones after, the last included."""
    if n <= max_points:
        return np.arange(n)
    head = np.arange(min(50, n))
    tail = np.linspace(len(head), n - 1, max(max_points - len(head), 2)).round().astype(int)
    return np.unique(np.r_[head, tail])


def trajectory_figure(surface_name: str | Surface, trajectories: Mapping[str, Trajectory]
                      | Sequence[Trajectory], frames: int = 60, animate: bool = True,
                      title: str | None = None, max_points: int = 400) -> Any:
    """Paths over the surface's contour plot, animated with a play button and a step slider.

    Each frame shows every path up to that step, with a dot at the current position.
    ``animate=False`` draws the finished paths only (what a live ``FigureWidget`` shows).
    Paths longer than ``max_points`` are drawn through evenly spaced steps (the first 50 steps,
    where paths turn fastest, are all kept), so a 5000-step figure stays small.

    Example:
        >>> from workbench import teach
        >>> t = teach.descend("saddle", "momentum", 0.05, steps=50)     # doctest: +SKIP
        >>> teach.trajectory_figure("saddle", [t]).frames[-1].name      # doctest: +SKIP
        '50'
    """
    import plotly.graph_objects as go

    surf = surface(surface_name)
    paths = list(trajectories.values() if isinstance(trajectories, Mapping) else trajectories)
    xs, ys, z = surf.grid()
    zd, ztitle = _display_z(surf, z)
    fig = go.Figure(go.Contour(x=xs, y=ys, z=zd, colorscale="Viridis", ncontours=30,
                               colorbar={"title": {"text": ztitle, "side": "right"}},
                               line={"width": 0.5}, hoverinfo="skip", name="f"))
    fig.add_trace(go.Scatter(x=[m[0] for m in surf.minima], y=[m[1] for m in surf.minima],
                             mode="markers", name="minimum",
                             marker={"symbol": "star", "size": 12, "color": "white",
                                     "line": {"color": "black", "width": 1}}))
    clipped = [_clip(t.points, surf) for t in paths]
    steps_of = [_thinned(len(p), max_points) for p in clipped]
    clipped = [p[k] for p, k in zip(clipped, steps_of, strict=True)]
    for k, (t, p) in enumerate(zip(paths, clipped, strict=True)):
        color = PALETTE[k % len(PALETTE)]
        fig.add_trace(go.Scatter(x=p[:, 0], y=p[:, 1], mode="lines", name=t.label,
                                 legendgroup=t.label, line={"color": color, "width": 2}))
        fig.add_trace(go.Scatter(x=p[-1:, 0], y=p[-1:, 1], mode="markers", showlegend=False,
                                 legendgroup=t.label, hovertext=[t.label],
                                 marker={"color": color, "size": 10,
                                         "line": {"color": "white", "width": 1.5}}))
    longest = max((len(t.points) for t in paths), default=1)
    fig.update_layout(title=title or f"{surf.title}: {', '.join(t.label for t in paths)}",
                      template="plotly_white", height=520,
                      xaxis={"range": list(surf.x_range), "title": "x"},
                      yaxis={"range": list(surf.y_range), "title": "y"},
                      margin={"t": 120},
                      legend={"orientation": "h", "x": 1.0, "xanchor": "right", "y": 1.02,
                              "yanchor": "bottom"})
    if not animate or longest < 2:
        return fig
    n = max(2, min(frames, longest))
    # long runs: frames spaced geometrically, so the fast first steps get frames too
    marks = np.unique((np.r_[0, np.geomspace(1, longest - 1, n - 1)] if longest > 4 * n
                       else np.linspace(0, longest - 1, n)).round().astype(int))
    frame_list, moving = [], list(range(2, 2 + 2 * len(paths)))
    for s in marks:
        data = []
        for p, k in zip(clipped, steps_of, strict=True):
            upto = p[: int(np.searchsorted(k, s, side="right"))]
            data += [go.Scatter(x=upto[:, 0], y=upto[:, 1]),
                     go.Scatter(x=upto[-1:, 0], y=upto[-1:, 1])]
        frame_list.append(go.Frame(data=data, traces=moving, name=str(s)))
    fig.frames = frame_list
    add_animation_controls(fig, [str(s) for s in marks], "step ", frame_ms=60, redraw=False,
                           y=1.12)
    return fig


def add_animation_controls(fig: Any, names: Sequence[str], prefix: str, *, frame_ms: int,
                           redraw: bool, y: float) -> None:
    """Give ``fig`` (whose frames are ``names``) a play/pause button and a frame slider."""
    def go_to(frames: Any, duration: int, **extra: Any) -> list[Any]:
        return [frames, {"frame": {"duration": duration, "redraw": redraw}, **extra}]

    fig.update_layout(
        updatemenus=[{"type": "buttons", "x": 0.0, "y": y, "xanchor": "left",
                      "direction": "left", "showactive": False, "buttons": [
                          {"label": "▶ play", "method": "animate",
                           "args": go_to(None, frame_ms, fromcurrent=True,
                                         transition={"duration": 0})},
                          {"label": "❚❚ pause", "method": "animate",
                           "args": go_to([None], 0, mode="immediate")}]}],
        sliders=[{"active": len(names) - 1, "currentvalue": {"prefix": prefix},
                  "pad": {"t": 40}, "steps": [
                      {"label": n, "method": "animate", "args": go_to([n], 0, mode="immediate")}
                      for n in names]}])


def loss_figure(trajectories: Mapping[str, Trajectory] | Sequence[Trajectory],
                title: str = "loss per step") -> Any:
    """The full-batch loss at every step, one line per path (log scale when it can be).

    Example:
        >>> from workbench import teach
        >>> fig = teach.loss_figure([teach.descend("bowl", steps=20)])   # doctest: +SKIP
    """
    import plotly.graph_objects as go

    paths = list(trajectories.values() if isinstance(trajectories, Mapping) else trajectories)
    fig = go.Figure()
    floor = min((float(np.min(t.losses)) for t in paths if len(t.losses)), default=0.0)
    for k, t in enumerate(paths):
        fig.add_trace(go.Scatter(y=t.losses, mode="lines", name=t.label + (" (diverged)"
                                 if t.diverged else ""),
                                 line={"color": PALETTE[k % len(PALETTE)]}))
    fig.update_layout(title=title, template="plotly_white", height=360, xaxis_title="step",
                      yaxis_title="f(w)", yaxis_type="log" if floor > 0 else "linear",
                      legend={"orientation": "h", "x": 1.0, "xanchor": "right", "y": 1.02,
                              "yanchor": "bottom"}, margin={"t": 90})
    return fig
