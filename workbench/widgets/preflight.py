"""What the panel shows before a run: the compression preflight table and a look at the data.

Example:
    >>> import workbench as wb
    >>> from workbench.widgets.preflight import data_html
    >>> text, problem = data_html(wb.ExperimentConfig(dataset="moons"))
    >>> "800 train" in text, problem
    (True, None)
"""

from __future__ import annotations

import base64
import html
import io
from functools import lru_cache
from typing import Any

import numpy as np

from workbench.config import ExperimentConfig
from workbench.exceptions import WorkbenchError


@lru_cache(maxsize=8)
def _template(dataset: str, model: str, options: tuple[tuple[str, Any], ...],
              data_options: tuple[tuple[str, Any], ...]) -> Any:
    """An untrained model for the preflight (a few, kept: building costs ~50 ms)."""
    from workbench.architectures import build_from_spec
    from workbench.data import DATASETS
    from workbench.data.sources import load_dataset

    info = DATASETS[dataset] if dataset in DATASETS else \
        load_dataset(dataset, **dict(data_options)).info
    return build_from_spec(model, info.input_shape, info.num_classes, dict(options))


def plan_for(cfg: ExperimentConfig, user_model: Any) -> Any:
    """The compression plan of ``cfg`` on its model (or the panel's own ``user_model``)."""
    from workbench.compress.sizes import plan
    from workbench.data.sources import options_of

    if user_model is not None and hasattr(user_model, "layers"):
        return plan(user_model, cfg)
    return plan(_template(cfg.dataset, cfg.model, tuple(cfg.model_options.items()),
                          tuple(options_of(cfg).items())), cfg)


def _png(x: np.ndarray, scale: int) -> str:
    from PIL import Image

    a = np.clip(np.asarray(x, dtype=np.float32), 0.0, 1.0)
    a = (a[..., 0] if a.shape[-1] == 1 else a) * 255
    img = Image.fromarray(a.astype(np.uint8))
    img = img.resize((img.width * scale, img.height * scale), Image.NEAREST)
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return base64.b64encode(buf.getvalue()).decode()


def data_html(cfg: ExperimentConfig, data: Any = None) -> tuple[str, str | None]:
    """``(html, problem)``: splits, shape, classes with counts, a few samples (thumbnails or
    rows) and what loading converted, for the panel's Data tab; or, when the data cannot be
    loaded, the error (as ``problem`` too, so the panel can say why Run is off). Never
    raises."""
    from workbench.data import from_arrays
    from workbench.data.sources import options_of

    if data is None:
        return _named_data_html(cfg.dataset, tuple(options_of(cfg).items()))
    try:
        return _summary_html(data if hasattr(data, "info") else from_arrays(data)), None
    except WorkbenchError as e:
        return f"<span style='color:#c62828'>{html.escape(str(e))}</span>", str(e)


@lru_cache(maxsize=16)
def _named_data_html(dataset: str, options: tuple[tuple[str, Any], ...]
                     ) -> tuple[str, str | None]:
    from workbench.data.sources import load_dataset

    try:
        return _summary_html(load_dataset(dataset, **dict(options))), None
    except WorkbenchError as e:
        return f"<span style='color:#c62828'>{html.escape(str(e))}</span>", str(e)


def _summary_html(ds: Any) -> str:
    from workbench.data.describe import is_image, summary

    s = summary(ds, n_samples=6)
    shape = "x".join(map(str, s["input_shape"]))
    counts = ", ".join(f"{html.escape(c)} {a}/{b}" for c, a, b in
                       zip(s["classes"][:12], s["train_counts"], s["test_counts"], strict=False))
    more = " ..." if len(s["classes"]) > 12 else ""
    parts = [f"<b>{s['n_train']} train / {s['n_test']} test</b>, input {shape}, "
             f"{len(s['classes'])} classes (train/test): {counts}{more}"]
    if is_image(s["input_shape"]):
        scale = max(1, 48 // max(s["input_shape"][:2]))
        parts.append("".join(
            f"<figure style='display:inline-block;margin:2px 6px 0 0;text-align:center'>"
            f"<img src='data:image/png;base64,{_png(x, scale)}' style='image-rendering:"
            f"pixelated;height:48px'/><figcaption style='font-size:10px'>"
            f"{html.escape(c)}</figcaption></figure>" for c, x in s["samples"]))
    else:
        rows = "".join(f"<tr><td>{html.escape(c)}</td><td>"
                       + ", ".join(f"{v:.3g}" for v in np.ravel(x)[:6])
                       + (" ..." if np.size(x) > 6 else "") + "</td></tr>"
                       for c, x in s["samples"][:4])
        parts.append(f"<table style='font-size:11px'>{rows}</table>")
    if s["conversions"]:
        parts.append("converted: " + html.escape("; ".join(s["conversions"])))
    return "<div style='font-size:12px;color:#333'>" + "<br>".join(parts) + "</div>"
