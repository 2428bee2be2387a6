"""A notebook's parameters: read from its ``parameters`` cell, checked before any kernel starts."""


from __future__ import annotations

import ast
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from workbench.config import FIELDS
from workbench.exceptions import (
    ConfigError,
    NotebookError,
    UnknownFieldError,
    did_you_mean,
)


@dataclass
class NotebookParameter:
    """One name of a notebook's ``parameters`` cell."""

    name: str
    default: Any
    type_name: str
    help: str


def notebook_parameters(path: str | Path) -> dict[str, NotebookParameter]:
    """The names, defaults, types and help of a notebook's ``parameters`` cell.

    Example:
        >>> from workbench.notebooks import notebook_parameters
        >>> p = notebook_parameters("notebooks/00_workbench.ipynb")   # doctest: +SKIP
        >>> p["epochs"].default                                       # doctest: +SKIP
        10
    """
    nb = _read_notebook(path)
    cell = next((c for c in nb["cells"] if c.get("cell_type") == "code"
                 and "parameters" in c.get("metadata", {}).get("tags", [])), None)
    if cell is None:
        raise NotebookError(f"{str(path)!r} has no cell tagged 'parameters' (papermill needs one "
                            f"to inject values)", str(path))
    source = "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
    lines = source.splitlines()
    out = {}
    for node in ast.parse(source).body:
        target = node.target if isinstance(node, ast.AnnAssign) else (
            node.targets[0] if isinstance(node, ast.Assign) and len(node.targets) == 1 else None)
        if not isinstance(target, ast.Name) or node.value is None:
            continue
        try:
            default = ast.literal_eval(node.value)
        except ValueError:
            default = None
        type_name = (ast.unparse(node.annotation) if isinstance(node, ast.AnnAssign)
                     else type(default).__name__)
        line = lines[node.lineno - 1]
        help_ = line.split("#", 1)[1].strip() if "#" in line else ""
        out[target.id] = NotebookParameter(target.id, default, type_name, help_)
    return out


def _read_notebook(path: str | Path) -> dict[str, Any]:
    p = Path(path)
    if not p.is_file():
        raise NotebookError(f"notebook {str(path)!r} does not exist", str(path))
    try:
        nb = json.loads(p.read_text())
        nb["cells"]
    except (json.JSONDecodeError, KeyError, TypeError, UnicodeDecodeError):
        raise NotebookError(f"{str(path)!r} is not a Jupyter notebook", str(path)) from None
    return nb


def _check_type(param: NotebookParameter, value: Any) -> Any:
    """Check (and for strings from a command line, convert) a notebook-only parameter."""
    name = param.type_name.replace(" ", "").strip("'\"")
    if name.startswith("Optional[") and name.endswith("]"):
        name = name[len("Optional["):-1] + "|None"
    kind = name.split("|")
    allowed = [k for k in kind if k != "None"]
    if value is None and "None" in kind:
        return value
    if isinstance(value, str) and "str" not in allowed:
        value = _from_text(param, value, allowed, "None" in kind)
        if value is None and "None" in kind:
            return value
    checks = {"int": lambda v: isinstance(v, int) and not isinstance(v, bool),
              "float": lambda v: isinstance(v, int | float) and not isinstance(v, bool),
              "bool": lambda v: isinstance(v, bool), "str": lambda v: isinstance(v, str),
              "list": lambda v: isinstance(v, list | tuple),
              "dict": lambda v: isinstance(v, dict)}
    if allowed and all(k in checks for k in allowed) and not any(
            checks[k](value) for k in allowed):
        raise ConfigError(param.name, value, f"of type {param.type_name} (the notebook's "
                          f"parameters cell)")
    return value


def _from_text(param: NotebookParameter, text: str, allowed: list[str], optional: bool) -> Any:
    """A command-line string for a parameter that is not a string: a JSON value (a list
    ``[0, 0.5]``, a mapping, ``null``, a number, ``true``) or a plain number or boolean."""
    t = text.strip()
    if optional and t.lower() in ("none", "null", ""):
        return None
    try:
        return json.loads(t)
    except ValueError:
        pass
    if allowed and allowed[0] in ("int", "float", "bool"):
        from workbench.config import FieldSpec

        return FieldSpec(param.name, allowed[0], None, "", "data").parse(t)
    example = {"list": "[0, 0.5, 0.9]", "dict": '{"a": 1}'}.get(allowed[0] if allowed else "",
                                                                "[1, 2]")
    raise ConfigError(param.name, text, f"a JSON value of type {param.type_name} (for example "
                      f"-p {param.name} '{example}')")


def check_parameters(path: str | Path, parameters: Mapping[str, Any]) -> dict[str, Any]:
    """Validate ``parameters`` for a notebook; return them normalized (strings parsed).

    Unknown names are an error listing the valid ones; config fields are checked like
    ExperimentConfig checks them; the notebook's own parameters against their annotated type.
    A string given for a parameter that is not a string (as from a command line) is read as
    JSON (``"[0, 0.5, 0.9]"``, ``"null"``, ``'{"a": 1}'``) or a number; nothing is evaluated.
    """
    declared = notebook_parameters(path)
    out = {}
    for name, value in parameters.items():
        if name not in declared:
            raise UnknownFieldError(
                name, message=f"{name!r} is not a parameter of {Path(path).name}"
                f"{did_you_mean(name, declared)}; its parameters: {', '.join(declared)}")
        if name in FIELDS:
            spec = FIELDS[name]
            if isinstance(value, str) and spec.kind != "str":
                value = spec.parse(value)  # from a command line: "3", "0.5", "128,64"
            value = spec.check(value)
            value = list(value) if isinstance(value, tuple) else value
        else:
            value = _check_type(declared[name], value)
        out[name] = value
    if set(FIELDS) <= set(declared):  # a notebook built on the whole config: cross-field rules
        from workbench.config import ExperimentConfig

        merged = {n: p.default for n, p in declared.items() if n in FIELDS}
        merged.update({k: v for k, v in out.items() if k in FIELDS})
        ExperimentConfig.from_dict(merged)
    return out


def param_hash(parameters: Mapping[str, Any]) -> str:
    """A stable 10-hex-digit name for a parameter set (order-independent).

    Example:
        >>> from workbench.notebooks import param_hash
        >>> param_hash({"a": 1, "b": [2]}) == param_hash({"b": [2], "a": 1})
        True
    """
    text = json.dumps(parameters, sort_keys=True, default=str)
    return hashlib.sha1(text.encode()).hexdigest()[:10]
