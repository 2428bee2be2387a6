"""One background-job pattern for the widgets: a thread, a stop event, errors never lost.

A blocking cell cannot receive a button click, so long work (training, a search, a scan)
runs in a daemon thread; whatever it raises is shown in an ``ipywidgets.Output`` instead of
vanishing with the thread. :func:`guarded` does the same for widget event handlers.
"""

from __future__ import annotations

import functools
import threading
import traceback
from collections.abc import Callable
from typing import Any

import ipywidgets as W


def show_error(output: W.Output, exc: BaseException) -> None:
    """Append ``exc`` to ``output``: its message for a WorkbenchError, else the traceback."""
    from workbench.exceptions import WorkbenchError

    text = (str(exc) if isinstance(exc, WorkbenchError) else
            "".join(traceback.format_exception(exc)))
    output.append_stderr(text.rstrip() + "\n")


def guarded(output: W.Output, handler: Callable[..., Any]) -> Callable[..., Any]:
    """Wrap a widget handler so that an exception it raises is shown in ``output``.

    Example:
        >>> import ipywidgets as W
        >>> from workbench.widgets.jobs import guarded
        >>> out = W.Output()
        >>> guarded(out, lambda change: 1 / 0)({"new": 1})
        >>> "ZeroDivisionError" in out.outputs[0]["text"]
        True
    """

    @functools.wraps(handler)
    def run(*args: Any, **kwargs: Any) -> Any:
        try:
            return handler(*args, **kwargs)
        except Exception as e:  # shown, never lost in the comm handler
            show_error(output, e)
            return None

    return run


class BackgroundJob:
    """Run ``target(stop_event)`` in a daemon thread; errors go to ``output``.

    Example:
        >>> import ipywidgets as W
        >>> from workbench.widgets.jobs import BackgroundJob
        >>> job = BackgroundJob(W.Output(), name="demo")
        >>> job.start(lambda stop: 41 + 1)
        True
        >>> job.wait()
        42
    """

    def __init__(self, output: W.Output, name: str = "workbench-job") -> None:
        self.output = output
        self.name = name
        self.stop_event = threading.Event()
        self.result: Any = None
        self.error: BaseException | None = None
        self._thread: threading.Thread | None = None

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self, target: Callable[[threading.Event], Any],
              on_done: Callable[[BackgroundJob], Any] | None = None) -> bool:
        """Start ``target`` unless a job is running (then False)."""
        if self.running:
            return False
        self.stop_event = threading.Event()
        self.result, self.error = None, None

        def body() -> None:
            try:
                self.result = target(self.stop_event)
            except Exception as e:
                self.error = e
                show_error(self.output, e)
            finally:
                if on_done is not None:
                    try:
                        on_done(self)
                    except Exception as e:
                        show_error(self.output, e)

        self._thread = threading.Thread(target=body, daemon=True, name=self.name)
        self._thread.start()
        return True

    def stop(self) -> None:
        self.stop_event.set()

    def wait(self, timeout: float | None = None) -> Any:
        if self._thread is not None:
            self._thread.join(timeout)
        return self.result
