"""Quantization and pruning made visible: histograms with the grid, per-layer errors,
accuracy against bits, the pruning threshold, sparsity patterns.

The numbers come from the same code ``wb.run`` compresses with (``workbench.compress``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from workbench.exceptions import ConfigError
from workbench.figures import PALETTE


def kernels(model: Any) -> dict[str, np.ndarray]:
    """The Dense/Conv kernels of ``model`` by layer name (what compression touches)."""
    from workbench.compress.layers import compressible_layers, kernel_array

    return {lay.name: kernel_array(lay) for lay in compressible_layers(model)}


def _check_bits_list(bits: Sequence[int]) -> list[int]:
    from workbench.config import QUANT_BITS

    grids = [b for b in QUANT_BITS if b < 16]  # integer grids; 16 is float16
    out = list(bits)
    if not out or any(not isinstance(b, int) or b not in grids for b in out):
        raise ConfigError("bits", bits, f"a list of bit-widths from {grids[0]} to {grids[-1]}")
    return out


def quant_histogram(weights: np.ndarray, bits: Sequence[int] = (8, 4, 2),
                    title: str = "weights before and after quantization") -> Any:
    """One panel per bit-width: the float weights' histogram, the quantized values as bars
    on the grid, and the grid's levels as ticks (every level, 0 exact).

    Example:
        >>> import numpy as np
        >>> from workbench import teach
        >>> fig = teach.quant_histogram(np.random.default_rng(0).normal(size=500), (4, 2))
        >>> len(fig.data)
        6
    """
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    from workbench.compress.quantizers import tensor_grid

    bits = _check_bits_list(bits)
    w = np.asarray(weights, dtype="float32").ravel()
    fig = make_subplots(rows=len(bits), cols=1, shared_xaxes=True, vertical_spacing=0.06,
                        subplot_titles=[f"{b} bits: at most {2 ** b} values" for b in bits])
    lo, hi = float(w.min()), float(w.max())
    for r, b in enumerate(bits, start=1):
        q, levels = tensor_grid(w, b)
        vals, counts = np.unique(q, return_counts=True)
        rmse = float(np.sqrt(np.mean((q - w) ** 2)))
        fig.add_trace(go.Histogram(x=w, nbinsx=120, name="float32 weights", opacity=0.45,
                                   marker_color="#7f7f7f", showlegend=r == 1,
                                   legendgroup="float"), row=r, col=1)
        fig.add_trace(go.Bar(x=vals, y=counts, name="quantized values",
                             marker_color=PALETTE[0], showlegend=r == 1, legendgroup="q",
                             width=max((hi - lo) / 300, float(np.min(np.diff(levels))) * 0.6),
                             hovertemplate="value %{x:.4f}: %{y} weights"), row=r, col=1)
        shown = levels[(levels >= lo - 1e-9) & (levels <= hi + 1e-9)]
        fig.add_trace(go.Scatter(x=levels, y=np.zeros_like(levels), mode="markers",
                                 name="grid levels", showlegend=r == 1, legendgroup="grid",
                                 marker={"symbol": "line-ns-open", "size": 10,
                                         "color": PALETTE[3]},
                                 hovertemplate="level %{x:.4f}"), row=r, col=1)
        fig.layout.annotations[r - 1].text += (f"; {len(vals)} used, {len(shown)} inside the "
                                               f"weights' range, RMS error {rmse:.4f}")
    fig.update_layout(title=title, template="plotly_white", height=220 * len(bits) + 80,
                      barmode="overlay", bargap=0)
    fig.update_xaxes(title_text="weight value", row=len(bits), col=1)
    return fig


def quantization_errors(model: Any, bits: Sequence[int] = (8, 4, 2),
                        granularity: str = "per_tensor") -> Any:
    """Per layer and bit-width: distinct values, RMS error, relative error and SQNR (dB).

    Example:
        >>> import keras
        >>> from workbench import teach
        >>> m = keras.Sequential([keras.Input((16,)), keras.layers.Dense(8, name="d")])
        >>> t = teach.quantization_errors(m, bits=(4,))
        >>> int(t.loc[0, "distinct_values"]) <= 16
        True
    """
    import pandas as pd

    from workbench.compress.layers import compressible_layers, kernel_array, quant_axes
    from workbench.compress.quantizers import quantize_array

    if granularity not in ("per_tensor", "per_channel"):
        raise ConfigError("granularity", granularity, "one of: per_tensor, per_channel")
    rows = []
    for lay in compressible_layers(model):
        w = kernel_array(lay)
        axes = None if granularity == "per_tensor" else quant_axes(lay, w.ndim)
        for b in _check_bits_list(bits):
            q = quantize_array(w, b, axes)
            err = float(np.sqrt(np.mean((q - w) ** 2)))
            rel = float(np.linalg.norm(q - w) / max(np.linalg.norm(w), 1e-12))
            rows.append({"layer": lay.name, "bits": b, "weights": int(w.size),
                         "distinct_values": int(np.unique(q).size), "rms_error": err,
                         "relative_error": rel,
                         "sqnr_db": float(20 * np.log10(1 / rel)) if rel > 0 else float("inf")})
    return pd.DataFrame(rows)


def accuracy_vs_bits(model: Any, x: Any, y: Any, bits: Sequence[int] = (8, 6, 5, 4, 3, 2),
                     granularities: Sequence[str] = ("per_tensor", "per_channel")) -> Any:
    """Test accuracy of post-training-quantized copies of ``model`` at each bit-width.

    Row ``bits=32`` is the float model. The quantized models are built by
    ``workbench.compress.quantize`` (the same PTQ that ``wb.run`` applies).

    Example:
        >>> from workbench import teach
        >>> teach.accuracy_vs_bits(model, x_test, y_test)              # doctest: +SKIP
    """
    import pandas as pd

    import workbench.compress as C

    bits = _check_bits_list(bits)
    x = np.asarray(x, dtype="float32")
    y = np.asarray(y)

    def acc(m: Any) -> float:
        return float(np.mean(np.asarray(m.predict(x, verbose=0, batch_size=512)).argmax(1) == y))

    base = acc(model)
    rows = [{"bits": 32, **{g: base for g in granularities}}]
    for b in bits:
        rows.append({"bits": b, **{g: acc(C.quantize(model, b, granularity=g))
                                   for g in granularities}})
    return pd.DataFrame(rows)


def accuracy_bits_figure(table: Any, title: str = "test accuracy against bit-width") -> Any:
    """Lines of :func:`accuracy_vs_bits`'s table (the float model as a dashed line)."""
    import plotly.graph_objects as go

    q = table[table.bits < 32].sort_values("bits")
    base = table[table.bits == 32]
    fig = go.Figure()
    for k, col in enumerate(c for c in table.columns if c != "bits"):
        fig.add_trace(go.Scatter(x=q.bits, y=q[col], mode="lines+markers", name=col,
                                 line={"color": PALETTE[k]}))
        if len(base):
            fig.add_hline(y=float(base[col].iloc[0]), line_dash="dash", line_color="#7f7f7f",
                          annotation_text="float32" if k == 0 else None)
    fig.update_layout(title=title, template="plotly_white", height=360, xaxis_title="bits",
                      yaxis_title="test accuracy", xaxis={"dtick": 1})
    return fig


def prune_threshold(model: Any, ratio: float) -> float:
    """The global magnitude below which ``ratio`` of the kernels' weights fall."""
    from workbench.config import FIELDS

    FIELDS["prune_ratio"].check(ratio)
    mags = np.abs(np.concatenate([k.ravel() for k in kernels(model).values()]))
    return float(np.quantile(mags, ratio)) if ratio > 0 else 0.0


def prune_histogram(model: Any, ratio: float = 0.8,
                    title: str | None = None) -> Any:
    """The histogram of |w| over all kernels with the global pruning threshold at ``ratio``.

    Example:
        >>> import keras
        >>> from workbench import teach
        >>> m = keras.Sequential([keras.Input((16,)), keras.layers.Dense(8)])
        >>> teach.prune_histogram(m, 0.5).layout.shapes[0].x0 > 0
        True
    """
    import plotly.graph_objects as go

    mags = np.abs(np.concatenate([k.ravel() for k in kernels(model).values()]))
    t = prune_threshold(model, ratio)
    fig = go.Figure(go.Histogram(x=mags, nbinsx=100, marker_color=PALETTE[0], name="|w|"))
    fig.add_vline(x=t, line_color=PALETTE[3], line_width=2,
                  annotation_text=f"threshold {t:.4f}: {ratio:.0%} of {mags.size:,} weights "
                                  "below are set to 0", annotation_position="top right")
    fig.update_layout(title=title or "weight magnitudes and the pruning threshold",
                      template="plotly_white", height=360, xaxis_title="|w|",
                      yaxis_title="weights", yaxis_type="log")
    return fig


def sparsity_image(kernel: np.ndarray, title: str = "kernel (white: pruned)") -> Any:
    """A kernel as an image: |w| on a colour scale, exact zeros white. Conv kernels are shown
    as (fan-in, filters).

    Example:
        >>> import numpy as np
        >>> from workbench import teach
        >>> teach.sparsity_image(np.eye(4)).data[0].z.shape
        (4, 4)
    """
    import plotly.graph_objects as go

    k = np.asarray(kernel, dtype="float32")
    k = k.reshape(-1, k.shape[-1]) if k.ndim > 1 else k[None, :]
    z = np.where(k == 0, np.nan, np.abs(k))
    zeros = float(np.mean(k == 0))
    fig = go.Figure(go.Heatmap(z=z, colorscale="Blues", colorbar={"title": {"text": "|w|"}},
                               hovertemplate="in %{y}, out %{x}: |w| %{z:.4f}<extra></extra>"))
    fig.update_layout(title=f"{title}: {zeros:.0%} zeros", template="plotly_white",
                      height=420, xaxis_title="output unit", yaxis_title="input",
                      plot_bgcolor="white", yaxis={"autorange": "reversed"})
    return fig
