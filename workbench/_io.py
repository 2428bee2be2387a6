"""Writing files so that no reader ever sees half of one: a temporary name, then a rename.

A leaf module: the run store, the notebooks and the compression exports all write through it.

Example:
    >>> import json, tempfile
    >>> from pathlib import Path
    >>> from workbench._io import atomic_write_json
    >>> p = Path(tempfile.mkdtemp()) / "m.json"
    >>> atomic_write_json(p, {"loss": float("nan")})
    >>> json.loads(p.read_text())
    {'loss': None}
"""

from __future__ import annotations

import json
import math
import os
import uuid
from pathlib import Path
from typing import Any


def json_safe(v: Any) -> Any:
    """``v`` with NaN/inf as None and numpy scalars as Python numbers (JSON has neither)."""
    if isinstance(v, float) and not math.isfinite(v):
        return None
    if isinstance(v, dict):
        return {str(k): json_safe(x) for k, x in v.items()}
    if isinstance(v, list | tuple):
        return [json_safe(x) for x in v]
    if hasattr(v, "item") and callable(v.item):  # numpy scalars
        return json_safe(v.item())
    return v


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file and a rename (never half-written)."""
    tmp = path.parent / f".{path.name}.tmp-{os.getpid()}-{uuid.uuid4().hex[:6]}"
    try:
        with open(tmp, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def atomic_write_text(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file and a rename."""
    atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_json(path: Path, data: Any) -> None:
    """Write ``data`` as indented JSON (see :func:`json_safe`), atomically."""
    atomic_write_text(path, json.dumps(json_safe(data), indent=2) + "\n")
