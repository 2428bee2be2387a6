"""The headless twins of a config: the ``workbench train`` and ``papermill`` command lines.

Only fields that differ from the defaults are written, so the commands stay short.

Example:
    >>> import workbench as wb
    >>> from workbench.commands import cli_command, papermill_command
    >>> cfg = wb.ExperimentConfig(optimizer="sgd", hidden_units=[32], prune_ratio=0.5)
    >>> cli_command(cfg)
    'workbench train --hidden-units 32 --optimizer sgd --prune-ratio 0.5'
    >>> papermill_command(cfg, output="out.ipynb").split(" -y ")[1]
    "'hidden_units: [32]' -p optimizer sgd -p prune_ratio 0.5"
"""

from __future__ import annotations

import shlex
from typing import Any

from workbench.config import FIELDS, ExperimentConfig


def changed_fields(cfg: ExperimentConfig) -> dict[str, Any]:
    """The fields of ``cfg`` that differ from the defaults, in declaration order."""
    default = ExperimentConfig().to_dict()
    return {k: v for k, v in cfg.to_dict().items() if v != default[k]}


def _text(value: Any) -> str:
    if isinstance(value, list):
        return ",".join(str(v) for v in value)
    return "None" if value is None else str(value)


def cli_command(cfg: ExperimentConfig) -> str:
    """``workbench train ...`` reproducing ``cfg``."""
    parts = ["workbench", "train"]
    for name, value in changed_fields(cfg).items():
        parts += [FIELDS[name].flag, _text(value)]
    return shlex.join(parts)


def papermill_command(cfg: ExperimentConfig, notebook: str = "notebooks/00_workbench.ipynb",
                      output: str = "output.ipynb") -> str:
    """``papermill NOTEBOOK OUTPUT -p name value ...`` reproducing ``cfg`` (lists via ``-y``)."""
    parts = ["papermill", notebook, output]
    for name, value in changed_fields(cfg).items():
        if isinstance(value, list):
            parts += ["-y", f"{name}: {value!r}".replace("'", '"')]
        elif value is None:
            parts += ["-y", f"{name}: null"]
        else:
            parts += ["-p", name, str(value)]
    return shlex.join(parts)
