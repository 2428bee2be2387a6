"""`SearchView`: start and stop a search, watch its Pareto front fill in."""

from __future__ import annotations

import html
import threading
from pathlib import Path
from typing import Any, Protocol

import ipywidgets as W

from workbench.config import ExperimentConfig
from workbench.runs import RunStore
from workbench.widgets.compare import CompareView
from workbench.widgets.controls import _STYLE
from workbench.widgets.jobs import BackgroundJob, guarded


class _Loader(Protocol):
    def load_config(self, cfg: ExperimentConfig) -> None: ...


class SearchView:
    """Start and stop a search, watch its Pareto front fill in, load a trial into a panel.

    The trials are ordinary runs in ``store``, so the view is a :class:`CompareView` of the
    store, refreshed as each trial finishes; clicking a point shows its commands and (with
    ``panel``) loads its config into the controls.

    Example:
        >>> import workbench as wb
        >>> view = wb.widgets.SearchView(wb.ExperimentConfig(epochs=3),
        ...                              {"prune_ratio": wb.uniform(0, 0.9)},
        ...                              store="runs")                   # doctest: +SKIP
        >>> view.start(); view.wait()                                    # doctest: +SKIP
    """

    def __init__(self, base: ExperimentConfig, space: Any,
                 objectives: Any = None,
                 store: RunStore | str | Path = "runs", storage: str | None = None,
                 study_name: str | None = None, panel: _Loader | None = None) -> None:
        from workbench.hpsearch import DEFAULT_OBJECTIVES, SAMPLERS, parse_objectives
        from workbench.search_space import SearchSpace

        self.base = base
        self.space = space if isinstance(space, SearchSpace) else SearchSpace(space)
        self.objectives = parse_objectives(objectives or DEFAULT_OBJECTIVES)
        self.store = store if isinstance(store, RunStore) else RunStore(store)
        self.storage, self.study_name = storage, study_name
        self.result: Any = None
        self.error: str | None = None
        self.output = W.Output()  # what a handler or the search thread raises, never lost
        self.job = BackgroundJob(self.output, name="wb-search")
        self.sampler = W.Dropdown(options=list(SAMPLERS), value="nsga2" if len(
            self.objectives) > 1 else "tpe", description="sampler", style=_STYLE)
        self.trials = W.BoundedIntText(value=12, min=1, max=10000, description="trials",
                                       style=_STYLE)
        self.start_button = W.Button(description="Start search", button_style="success",
                                     icon="play")
        self.stop_button = W.Button(description="Stop", button_style="danger", icon="stop",
                                    disabled=True)
        self.start_button.on_click(guarded(self.output, lambda _b: self.start()))
        self.stop_button.on_click(guarded(self.output, lambda _b: self.stop()))
        self.status_html = W.HTML("<b>search:</b> ready")
        self.compare = CompareView(self.store, load=panel.load_config if panel else None)
        self.widget = W.VBox([W.HBox([self.sampler, self.trials]),
                              W.HBox([self.start_button, self.stop_button]), self.status_html,
                              self.output, self.compare.widget])

    def _ipython_display_(self) -> None:
        from IPython.display import display

        display(self.widget)

    @property
    def running(self) -> bool:
        return self.job.running

    def start(self) -> bool:
        """Start the search in a background thread; False if one is running."""
        if self.running:
            self.status_html.value = "<b>search:</b> already running"
            return False
        self.start_button.disabled, self.stop_button.disabled = True, False
        self.done = 0
        return self.job.start(self._search)

    def _search(self, stop: threading.Event) -> None:
        from workbench.hpsearch import search

        total = self.trials.value

        def on_trial(trial: Any) -> None:
            self.done += 1
            self.status_html.value = (f"<b>search:</b> {self.done} of {total} trials "
                                      f"({html.escape(trial.state.name.lower())} last)")
            self.compare.refresh()

        try:
            self.result = search(self.base, self.space, [f"{m}:{d[:3]}" for m, d in
                                                         self.objectives],
                                 sampler=self.sampler.value, n_trials=total,
                                 storage=self.storage, study_name=self.study_name,
                                 store=self.store, progress=False, stop=stop,
                                 on_trial=on_trial)
            word = "stopped" if stop.is_set() else "finished"
            self.status_html.value = f"<b>search:</b> {word} after {self.done} trials"
        except Exception as e:  # shown, never lost in a thread
            self.error = f"{type(e).__name__}: {e}"
            self.status_html.value = (f"<b>search:</b> <span style='color:#c62828'>"
                                      f"{html.escape(self.error)}</span>")
        finally:
            self.start_button.disabled, self.stop_button.disabled = False, True

    def stop(self) -> bool:
        """Start no new trial (the running one finishes); False if none runs."""
        if not self.running:
            self.status_html.value = "<b>search:</b> nothing to stop"
            return False
        self.job.stop()
        self.status_html.value = "<b>search:</b> stopping after the current trial..."
        return True

    def wait(self, timeout: float | None = None) -> Any:
        """Block until the search ends (or ``timeout`` seconds); return its result."""
        self.job.wait(timeout)
        return self.result
