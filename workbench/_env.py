"""Environment switches read by several modules (no imports beyond the standard library)."""

from __future__ import annotations

import os


def verbose() -> bool:
    """Whether the user asked for the logs of TensorFlow and the kernels (``WORKBENCH_VERBOSE=1``,
    or the CLI's ``--verbose``).

    Example:
        >>> from workbench._env import verbose
        >>> isinstance(verbose(), bool)
        True
    """
    return os.environ.get("WORKBENCH_VERBOSE", "").strip().lower() not in ("", "0", "false",
                                                                          "no")
