"""Controls generated from field metadata: one widget per :class:`FieldSpec`.

The analogue of ipywidgets' ``interaction.py`` (``widget_from_*``): a field's kind, choices,
range and scale decide the widget, so the panel, the Compress view and the teaching widgets
render any field the same way, and reading a control back is checked by the field's own rule.
"""

from __future__ import annotations

import math
from typing import Any

import ipywidgets as W
import traitlets

from workbench.config import RECIPE_FIELDS, ExperimentConfig, recommended_value
from workbench.fields import FieldSpec

_STYLE = {"description_width": "150px"}
# px: the panel's charts. A FigureWidget drawn before JupyterLab attaches it cannot measure its
# box and takes 700 px, which a 1000 px window cuts off; 560 fits the output area there.
CHART_WIDTH = 560
_LAYOUT = {"width": "440px"}


def make_control(spec: FieldSpec, value: Any, suggestions: list[str] | None = None, *,
                 style: dict[str, str] | None = None, layout: dict[str, str] | None = None
                 ) -> W.Widget:
    """The widget for one field: dropdown, slider, log slider, checkbox, multi-select or text.

    ``suggestions`` turns a free-text field into a combobox offering them (e.g. the store's
    completed runs for ``init_from``); any other text stays allowed. ``style`` and ``layout``
    size it (default: the panel's 150 px labels on 440 px controls).

    Example:
        >>> from workbench.config import FIELDS
        >>> from workbench.widgets.controls import make_control, read_control
        >>> w = make_control(FIELDS["optimizer"], "adam")
        >>> type(w).__name__, read_control(FIELDS["optimizer"], w)
        ('Dropdown', 'adam')
    """
    kw: dict[str, Any] = {"description": spec.label or spec.name, "style": style or _STYLE,
                          "layout": W.Layout(**(layout or _LAYOUT))}
    tip = f"{spec.name}: {spec.help}"  # the identifier (CLI flag, notebook parameter) on hover
    if spec.open_check is not None and spec.choices is not None:
        w = OpenChoice(spec, value, kw)
        w.dropdown.tooltip = w.text.tooltip = tip  # a Box's own tooltip breaks its view
        return w
    if suggestions is not None and spec.kind == "str" and spec.choices is None:
        w: W.Widget = W.Combobox(value="" if value is None else str(value),
                                 options=list(suggestions), ensure_option=False,
                                 placeholder="None" if spec.optional else "",
                                 continuous_update=False, **kw)
        w.tooltip = tip
        return w
    if spec.kind == "bool":
        w = W.Checkbox(value=bool(value), indent=False, **kw)
    elif spec.kind == "str_list":
        w = W.SelectMultiple(options=list(spec.choices or ()), value=tuple(value),
                             rows=min(6, len(spec.choices or ())), **kw)
    elif spec.choices is not None:
        options = [(str(c), c) for c in spec.choices]
        if spec.optional:
            options.insert(0, ("None", None))
        # ipywidgets reads value=None as "nothing selected" (a blank box): select by index
        w = W.Dropdown(options=options, index=[v for _, v in options].index(value), **kw)
    elif spec.kind == "float" and spec.log:
        lo = spec.low if spec.low and spec.low > 0 else 1e-5
        w = W.FloatLogSlider(value=value, base=10, min=math.log10(lo),
                             max=math.log10(spec.widget_max or spec.high or 10.0), step=0.05,
                             readout_format=".2e", continuous_update=False, **kw)
    elif spec.kind in ("int", "float") and not spec.optional and spec.low is not None and (
            spec.widget_max is not None or spec.high is not None):
        top = spec.widget_max if spec.widget_max is not None else spec.high
        top = max(float(top), float(value))
        if spec.kind == "int":
            w = W.IntSlider(value=value, min=int(spec.low), max=int(top),
                            continuous_update=False, **kw)
        else:
            w = W.FloatSlider(value=value, min=spec.low, max=top, step=round(top / 100, 6),
                              readout_format=".3g", continuous_update=False, **kw)
    else:
        text = control_text(value)
        w = W.Text(value=text, placeholder="None" if spec.optional else "",
                   continuous_update=False, **kw)
    w.tooltip = tip
    return w


class OpenChoice(W.HBox):
    """A dropdown of a field's names with a text box beside it for anything else the field
    takes (``dataset``: a path or ``module:function``); ``value`` is the text when there is
    one, else the dropdown's name.

    Example:
        >>> from workbench.config import FIELDS
        >>> from workbench.widgets.controls import make_control
        >>> w = make_control(FIELDS["dataset"], "data/cells.npz")
        >>> w.value, w.children[1].value
        ('data/cells.npz', 'data/cells.npz')
    """

    value = traitlets.Unicode("")

    def __init__(self, spec: FieldSpec, value: Any, kw: dict[str, Any]) -> None:
        names = list(spec.choices or ())
        named = value in names
        self.dropdown = W.Dropdown(options=names, value=value if named else names[0],
                                   description=kw["description"], style=kw["style"],
                                   layout=W.Layout(width="300px"))
        self.text = W.Text(value="" if named else str(value), placeholder="or a path",
                           continuous_update=False, layout=W.Layout(width="136px"))
        super().__init__([self.dropdown, self.text], layout=kw["layout"])
        self.value = str(value)
        self.dropdown.observe(self._picked, names="value")
        self.text.observe(lambda _c: self._typed(), names="value")

    def _picked(self, _change: Any) -> None:  # a name chosen: the text box gives way
        self.text.value = ""
        self.value = self.dropdown.value

    def _typed(self) -> None:
        self.value = self.text.value.strip() or self.dropdown.value

    def show(self, value: str) -> None:
        if value in self.dropdown.options:
            self.dropdown.value, self.text.value = value, ""
        else:
            self.text.value = value
        self.value = value


def control_text(value: Any) -> str:
    """A field value as a text control shows it (the CLI's syntax: ``128,64``,
    ``dense_1=0.9,logits=0.5``, ``None``)."""
    if value is None:
        return "None"
    if isinstance(value, dict):
        value = tuple(value.items())
    if isinstance(value, list | tuple):
        return ",".join(f"{v[0]}={v[1]:g}" if isinstance(v, tuple) else str(v) for v in value)
    return str(value)


def read_control(spec: FieldSpec, w: W.Widget) -> Any:
    """The config value a control holds (text is parsed; ConfigError names the field)."""
    if isinstance(w, W.Text):
        return spec.parse(w.value)
    if isinstance(w, W.SelectMultiple):
        return list(w.value)
    return w.value


def set_control(w: W.Widget, value: Any) -> None:
    if isinstance(w, OpenChoice):
        w.show(value)
    elif isinstance(w, W.Text):
        w.value = control_text(value)
    elif isinstance(w, W.SelectMultiple):
        w.value = tuple(value)
    elif isinstance(w, W.Dropdown):
        w.index = [v for _, v in w.options].index(value)
    else:
        if isinstance(w, W.IntSlider | W.FloatSlider) and value > w.max:
            w.max = value
        w.value = value


def following_data_set(cfg: ExperimentConfig) -> set[str]:
    """The fields a control panel lets follow the data set until the user moves them: the
    :data:`RECIPE_FIELDS` that ``cfg`` left unset or that hold what its data set recommends (a
    control cannot tell a typed 10 from a default 10), and ``learning_rate`` when it is None.

    Example:
        >>> import workbench as wb
        >>> from workbench.widgets.controls import following_data_set
        >>> sorted(following_data_set(wb.ExperimentConfig(batch_size=64)))
        ['epochs', 'learning_rate', 'lr_schedule']
    """
    auto = {n for n in RECIPE_FIELDS
            if n in cfg.unset or getattr(cfg, n) == recommended_value(cfg.dataset, n)}
    return auto | ({"learning_rate"} if cfg.learning_rate is None else set())
