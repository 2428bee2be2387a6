"""The Playground's figures: pure functions of a :class:`Playground`'s state (its data,
predictions and history); they draw, they change nothing."""

from __future__ import annotations

from typing import Any

import numpy as np

from workbench.exceptions import ConfigError

WINDOW = (-1.5, 1.5)
CLASS_COLORS = ("#f59322", "#0877bd")  # Playground's orange and blue


def figure(pg: Any, resolution: int = 80) -> Any:
    """The decision boundary over the points (train: white edge, test: black edge).

    Example:
        >>> fig = pg.figure()                                     # doctest: +SKIP
    """
    import plotly.graph_objects as go

    xs, ys, p = pg.boundary(resolution)
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
    for split, x, y, edge in (("train", pg.x_train, pg.y_train, "white"),
                              ("test", pg.x_test, pg.y_test, "black")):
        fig.add_trace(go.Scatter(x=x[:, 0], y=x[:, 1], mode="markers",
                                 name=f"{split} ({edge} edge)",
                                 marker={"color": [CLASS_COLORS[int(c)] for c in y],
                                         "size": 6, "line": {"color": edge, "width": 1}}))
    fig.update_layout(title=pg.title(), template="plotly_white", height=500,
                      width=560, xaxis={"range": list(WINDOW), "title": "x1",
                                        "constrain": "domain"},
                      yaxis={"range": list(WINDOW), "title": "x2", "scaleanchor": "x",
                             "constrain": "domain"},
                      title_font_size=12, margin={"t": 110},
                      legend={"orientation": "h", "x": 1.0, "xanchor": "right", "y": 1.0,
                              "yanchor": "bottom"})
    return fig


def neuron_figure(pg: Any, resolution: int = 40, max_units: int = 8) -> Any:
    """What each hidden neuron computes: its activation over the plane, one small map per
    unit, one row per hidden layer (Playground's neuron thumbnails), of the network as drawn
    (pruned or quantized when set).

    Example:
        >>> pg.neuron_figure().layout.title.text                      # doctest: +SKIP
    """
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    from workbench._tf import keras

    model = pg.view_model()
    hidden = [lay for lay in model.layers if lay.name.startswith("hidden_")]
    if not hidden:
        raise ConfigError("hidden_units", [], "at least one hidden layer to show neurons")
    xs = ys = np.linspace(*WINDOW, resolution)
    gx, gy = np.meshgrid(xs, ys)
    inputs = pg.featurize(np.c_[gx.ravel(), gy.ravel()])
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
    fig.update_layout(title=f"what each hidden neuron computes ({pg._compression_label()})"
                      if pg.compressed else "what each hidden neuron computes",
                      template="plotly_white", height=130 * len(outs) + 90,
                      width=110 * cols + 120, margin={"l": 20, "r": 60, "t": 60, "b": 20})
    return fig


def animate(pg: Any, epochs: int, every: int = 5, resolution: int = 60) -> Any:
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
        _, _, p = pg.boundary(resolution)
        frames.append(go.Frame(data=[go.Heatmap(z=p), go.Contour(z=p)], traces=[0, 1],
                               name=str(pg.epoch),
                               layout={"title": {"text": pg.title()}}))

    snap()
    done = 0
    while done < epochs:
        k = min(every, epochs - done)
        pg.train(k)
        done += k
        snap()
    fig = pg.figure(resolution)
    fig.frames = frames
    add_animation_controls(fig, [f.name for f in frames], "epoch ", frame_ms=300,
                           redraw=True, y=1.15)
    return fig


def loss_figure(pg: Any) -> Any:
    """Train and test loss per epoch."""
    import plotly.graph_objects as go

    ep = [h["epoch"] for h in pg.history]
    fig = go.Figure([go.Scatter(x=ep, y=[h["train_loss"] for h in pg.history],
                                name="train loss", mode="lines"),
                     go.Scatter(x=ep, y=[h["test_loss"] for h in pg.history],
                                name="test loss", mode="lines")])
    fig.update_layout(title="loss", template="plotly_white", height=300, width=420,
                      xaxis_title="epoch", yaxis_title="cross-entropy",
                      legend={"orientation": "h", "y": 1.0, "yanchor": "bottom", "x": 1.0,
                              "xanchor": "right"})
    return fig
