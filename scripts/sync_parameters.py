"""Regenerate the ``parameters`` cell of a notebook from the ExperimentConfig fields.

The cell lists every field with its type, default and help, so that ``papermill -p NAME VALUE``
works for any field and ``papermill --help-notebook`` documents them. tests/test_panel.py
checks that notebooks/00_workbench.ipynb is in step with the fields.

    .venv/bin/python scripts/sync_parameters.py notebooks/00_workbench.ipynb
"""

from __future__ import annotations

import re
import sys

import nbformat

from workbench.config import FIELDS

TYPES = {"str": "str", "int": "int", "float": "float", "bool": "bool", "int_list": "list",
         "ratio_map": "dict",
         "str_list": "list"}
EXTRA = {"autorun: bool = True": "train the configuration above once when the notebook runs"}


def parameters_source() -> str:
    lines = ["# Parameters: every ExperimentConfig field (papermill -p NAME VALUE overrides any)"]
    for spec in FIELDS.values():
        # a quoted Optional[...]: papermill's parser does not read "int | None", and a quoted
        # annotation is not evaluated, so the cell needs no typing import
        kind = f'"Optional[{TYPES[spec.kind]}]"' if spec.optional else TYPES[spec.kind]
        default = list(spec.default) if isinstance(spec.default, tuple) else spec.default
        first = re.split(r"(?<=\.)\s+(?=[A-Z])", spec.help)[0].rstrip(".")
        first = first.replace(" = ", ": ").replace("=", ":")  # papermill skips lines with 2 '='s
        lines.append(f"{spec.name}: {kind} = {default!r}  # {first}")
    lines += [f"{code}  # {why}" for code, why in EXTRA.items()]
    return "\n".join(lines)


def main(path: str) -> None:
    nb = nbformat.read(path, as_version=4)
    cell = next(c for c in nb.cells if "parameters" in c.metadata.get("tags", []))
    cell.source = parameters_source()
    cell.metadata.setdefault("jupyter", {})["source_hidden"] = True  # 36 lines: folded away
    nbformat.write(nb, path)


if __name__ == "__main__":
    main(sys.argv[1])
