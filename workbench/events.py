"""The metric events a run emits, as types: ``run_start``, ``batch``, ``epoch``, ``run_end``.

:class:`workbench.callbacks.MetricStream` makes them; every sink receives them in this order
(one ``run_start``, then batches and epochs, one ``run_end``). They are plain dicts at run time
(JSON lines in ``events.jsonl``); these ``TypedDict`` classes say which keys each one has.
Besides the keys listed, a ``batch`` or ``epoch`` event carries each metric Keras logs
(``loss``, ``accuracy``, ``val_loss``...) and an ``epoch`` event the compression telemetry
(``sparsity``, ``size_bytes_estimate``...): their names and units are in
:data:`workbench.metrics.METRICS`.

Example:
    >>> from workbench.events import EVENT_TYPES, Epoch
    >>> event: Epoch = {"type": "epoch", "epoch": 1, "step": 41, "loss": 0.52}
    >>> event["type"] in EVENT_TYPES
    True
"""

from __future__ import annotations

from typing import Any, Literal, Required, TypedDict

EVENT_TYPES = ("run_start", "batch", "epoch", "run_end")


class RunStart(TypedDict, total=False):
    """Training begins: the run's id and config, the epochs and steps it will take."""

    type: Required[Literal["run_start"]]
    run_id: str
    epochs: int
    steps_per_epoch: int
    params: int
    config: dict[str, Any]
    replicas: int  # devices or processes training in sync
    strategy: str
    recommended: dict[str, Any]  # settings taken from the data set's recipe (fields left unset)


class Batch(TypedDict, total=False):
    """One optimizer step: that batch's own loss (not Keras's running mean) and rate."""

    type: Required[Literal["batch"]]
    step: Required[int]  # optimizer steps so far, counted from the run's start
    epoch: Required[int]  # 0-based epoch of the batch
    batch: int
    progress: float  # epochs done, fractional
    loss: float
    lr: float


class Epoch(TypedDict, total=False):
    """One epoch ended: Keras's epoch logs, the rate, the epoch time, compression telemetry."""

    type: Required[Literal["epoch"]]
    epoch: Required[int]  # 1-based
    step: Required[int]
    loss: float
    lr: float
    epoch_time_s: float


class RunEnd(TypedDict, total=False):
    """Training ended: the status (a :class:`workbench.runs.RunStatus` value), the steps
    taken, and the test metrics (or the error)."""

    type: Required[Literal["run_end"]]
    status: Required[str]
    steps: int
    metrics: dict[str, Any]
    error: str


Event = RunStart | Batch | Epoch | RunEnd
"""Any of the four."""
