"""Regenerate the ``parameters`` cells of the notebooks from the ExperimentConfig fields.

A config field's line (type, default, help) is written from its :class:`FieldSpec`, so that
``papermill -p NAME VALUE`` works for it and ``papermill --help-notebook`` documents it:

- ``00_workbench`` lists every field, with the config's defaults;
- a notebook whose metadata has ``workbench.fields`` lists those fields in that order, each
  with the notebook's default (``{"name": "epochs", "default": 10}``) and, when the notebook
  uses the field for something narrower, its own help (``"help": "fine-tuning epochs"``);
  the notebook's own parameters (not config fields) follow, kept as they are.

``tests/test_headless.py`` checks that every notebook is in step.

    .venv/bin/python scripts/sync_parameters.py            # every notebook
    .venv/bin/python scripts/sync_parameters.py notebooks/03_pruning.ipynb
"""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Any

import nbformat

from workbench.config import FIELDS
from workbench.fields import FieldSpec

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"
TYPES = {"str": "str", "int": "int", "float": "float", "bool": "bool", "int_list": "list",
         "ratio_map": "dict", "str_list": "list"}
EXTRA = {"autorun: bool = True": "train the configuration above once when the notebook runs"}
HEADER = "# Parameters (papermill -p NAME VALUE)"
FIELD_NOTE = "# config fields (lines written from their specs by scripts/sync_parameters.py):"
OWN_NOTE = "# this notebook's own:"


def field_line(spec: FieldSpec, default: Any, help: str | None = None) -> str:
    """``name: type = default  # help`` for one config field."""
    # a quoted Optional[...]: papermill's parser does not read "int | None", and a quoted
    # annotation is not evaluated, so the cell needs no typing import
    kind = f'"Optional[{TYPES[spec.kind]}]"' if spec.optional else TYPES[spec.kind]
    default = list(default) if isinstance(default, tuple) else default
    first = help or re.split(r"(?<=\.)\s+(?=[A-Z])", spec.help)[0].rstrip(".")
    first = first.replace(" = ", ": ").replace("=", ":")  # papermill skips lines with 2 '='s
    return f"{spec.name}: {kind} = {default!r}  # {first}"


def parameters_source() -> str:
    """The parameters cell of 00_workbench: every field, at the config's defaults."""
    lines = ["# Parameters: every ExperimentConfig field (papermill -p NAME VALUE overrides any)"]
    lines += [field_line(spec, spec.default) for spec in FIELDS.values()]
    lines += [f"{code}  # {why}" for code, why in EXTRA.items()]
    return "\n".join(lines)


def notebook_source(fields: list[dict[str, Any]], current: str) -> str:
    """A notebook's parameters cell: its config fields from the specs, then its own lines."""
    lines = [HEADER, FIELD_NOTE]
    for given in fields:
        spec = FIELDS[given["name"]]
        lines.append(field_line(spec, spec.check(given["default"]), given.get("help")))
    lines.append(OWN_NOTE)
    for line in current.splitlines():
        name = line.split(":", 1)[0].strip()
        if line.startswith("#") or not line.strip() or name in FIELDS:
            continue
        lines.append(line)
    return "\n".join(lines)


def expected_source(nb: Any, name: str) -> str | None:
    """What the notebook's parameters cell must hold (None: not generated)."""
    cell = next((c for c in nb.cells if "parameters" in c.metadata.get("tags", [])), None)
    if cell is None:
        return None
    if name == "00_workbench":
        return parameters_source()
    fields = nb.metadata.get("workbench", {}).get("fields")
    return None if fields is None else notebook_source(fields, cell.source)


def sync(path: Path) -> bool:
    """Rewrite ``path``'s parameters cell if it is out of step; True if it changed."""
    nb = nbformat.read(str(path), as_version=4)
    want = expected_source(nb, path.stem)
    if want is None:
        return False
    cell = next(c for c in nb.cells if "parameters" in c.metadata.get("tags", []))
    if cell.source == want:
        return False
    cell.source = want
    if path.stem == "00_workbench":
        cell.metadata.setdefault("jupyter", {})["source_hidden"] = True  # 40 lines: folded away
    nbformat.write(nb, str(path))
    return True


def main(paths: list[str]) -> None:
    targets = [Path(p) for p in paths] or sorted(NOTEBOOKS.glob("*.ipynb"))
    for path in targets:
        if sync(path):
            print(f"updated {path}")


if __name__ == "__main__":
    main(sys.argv[1:])
