"""Console sink: one line per epoch, and a tqdm progress bar when writing to a terminal."""

from __future__ import annotations

import math
import sys
from typing import Any, TextIO

from workbench.data import recommended_text

_ORDER = ("loss", "accuracy", "val_loss", "val_accuracy")


def _num(v: Any) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "nan"
    if isinstance(v, float):
        return f"{v:.4f}"
    return str(v)


class ConsoleSink:
    """Print a line per epoch (and a bar per epoch in a terminal).

    Example:
        >>> import io
        >>> from workbench.sinks import ConsoleSink
        >>> out = io.StringIO()
        >>> s = ConsoleSink(stream=out, bar=False)
        >>> s.send({"type": "run_start", "epochs": 2})
        >>> s.send({"type": "epoch", "epoch": 1, "loss": 0.25, "lr": 0.01, "epoch_time_s": 1.5})
        >>> out.getvalue().split()[:4]
        ['epoch', '1/2', 'loss', '0.2500']
    """

    def __init__(self, stream: TextIO | None = None, bar: bool | None = None) -> None:
        self.stream = stream or sys.stdout
        self._bar_wanted = bar
        self._bar: Any = None
        self._epochs: int | None = None
        self._spe: int | None = None
        self._last_step = 0

    def _use_bar(self) -> bool:
        if self._bar_wanted is not None:
            return self._bar_wanted
        return bool(getattr(sys.stderr, "isatty", lambda: False)())

    def send(self, event: dict[str, Any]) -> None:
        kind = event.get("type")
        if kind == "run_start":
            self._epochs = event.get("epochs")
            self._spe = event.get("steps_per_epoch")
            replicas = event.get("replicas")
            if replicas is not None and (replicas > 1 or event.get("strategy") != "default"):
                print(f"training on {replicas} replica{'s' if replicas != 1 else ''} "
                      f"({event.get('strategy')} strategy)", file=self.stream, flush=True)
            recommended = event.get("recommended") or {}
            if recommended:
                dataset = (event.get("config") or {}).get("dataset", "the data set")
                print(f"{dataset}'s recommended settings for the fields left unset: "
                      f"{recommended_text(recommended)}", file=self.stream, flush=True)
        elif kind == "batch" and self._use_bar():
            self._update_bar(event)
        elif kind == "epoch":
            self._close_bar()
            parts = [f"epoch {event.get('epoch')}/{self._epochs or '?'}"]
            for k in _ORDER:
                if k in event:
                    parts.append(f"{k} {_num(event[k])}")
            if event.get("lr") is not None:
                parts.append(f"lr {event['lr']:.2e}")
            if event.get("epoch_time_s") is not None:
                parts.append(f"{event['epoch_time_s']:.1f}s")
            print("  ".join(parts), file=self.stream, flush=True)
        elif kind == "run_end":
            self._close_bar()

    def _update_bar(self, event: dict[str, Any]) -> None:
        try:
            from tqdm import tqdm
        except ImportError:  # pragma: no cover - tqdm is a dependency
            return
        if self._bar is None:
            self._bar = tqdm(total=self._spe, desc=f"epoch {event.get('epoch', '?')}",
                             leave=False, file=sys.stderr)
            self._last_step = 0
        b = int(event.get("batch", 0)) + 1
        self._bar.update(max(b - self._last_step, 0))
        self._last_step = b
        self._bar.set_postfix(loss=_num(event.get("loss")), refresh=False)

    def _close_bar(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None

    def close(self) -> None:
        self._close_bar()
