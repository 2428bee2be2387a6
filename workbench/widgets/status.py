"""The panel's status line and progress bar, fed by metric events like any other sink."""

from __future__ import annotations

from typing import Any, Protocol


class StatusPanel(Protocol):
    """What the sink drives: a progress bar, a status line and the last step seen."""

    progress: Any
    last_step: int

    def _status(self, text: str, color: str = ...) -> None: ...


class StatusSink:
    """Metric events -> progress bar and status line (called from the training thread)."""

    def __init__(self, panel: StatusPanel) -> None:
        self.panel = panel
        self.total = 1

    def send(self, event: dict[str, Any]) -> None:
        p = self.panel
        kind = event.get("type")
        if kind == "run_start":
            spe = event.get("steps_per_epoch") or 1
            self.total = max(1, int(spe) * int(event.get("epochs") or 1))
            p.progress.max = self.total
            p.progress.value = 0
            p._status(f"running {event.get('run_id')}: epoch 1 of {event.get('epochs')}")
        elif kind in ("batch", "epoch"):
            p.progress.value = min(int(event.get("step", 0)), self.total)
            p.last_step = int(event.get("step", 0))
            if kind == "epoch":
                parts = [f"epoch {event['epoch']}"]
                for k in ("loss", "accuracy", "val_loss", "val_accuracy", "sparsity"):
                    if isinstance(event.get(k), float):
                        parts.append(f"{k} {event[k]:.4g}")
                p._status("running: " + "  ".join(parts))
