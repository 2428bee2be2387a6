"""Headless notebooks: run one parameterized notebook, or a sweep of them in parallel.

``run_notebook`` checks the parameters against the notebook's ``parameters`` cell and the
ExperimentConfig *before* any kernel starts (papermill only warns about unknown names), runs
papermill with plotly.js inlined in the outputs, and writes into its output folder: the executed
``notebook.ipynb``, ``notebook.html`` (inputs hidden), ``params.json``, ``status.json`` and
whatever results the notebook saves (:func:`save_results` -> ``results.json``).

``sweep`` runs every combination of a grid (or a list of parameter dicts) in worker processes,
locally or on a Dask cluster, one folder per run named by a stable hash of its parameters, and
collects the results into one DataFrame (``results.csv``).
"""

from workbench.exceptions import NotebookError
from workbench.notebooks.execute import (
    ASSETS_DIR,
    KERNEL_LOG,
    RESULTS_FILE,
    STATUS_FILE,
    NotebookResult,
    run_notebook,
    save_results,
    to_html,
)
from workbench.notebooks.params import (
    NotebookParameter,
    check_parameters,
    notebook_parameters,
    param_hash,
)
from workbench.notebooks.sweep import collect, expand_grid, sweep

__all__ = [
    "ASSETS_DIR",
    "KERNEL_LOG",
    "NotebookError",
    "NotebookParameter",
    "NotebookResult",
    "RESULTS_FILE",
    "STATUS_FILE",
    "check_parameters",
    "collect",
    "expand_grid",
    "notebook_parameters",
    "param_hash",
    "run_notebook",
    "save_results",
    "sweep",
    "to_html",
]
