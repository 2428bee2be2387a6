"""A string-keyed registry that installed packages can add to, through an entry-point group.

The data sets (``nn_workbench.datasets``) and the models (``nn_workbench.models``) are such
registries. A leaf: it imports nothing of the workbench.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, MutableMapping
from typing import Any, TypeVar

T = TypeVar("T")


class Registry(MutableMapping[str, T]):
    """A dict of a registry's entries that reads the installed plug-ins on first use.

    ``group`` is the entry-point group (``nn_workbench.datasets``); ``convert(name, obj)``
    turns what an entry point loads into the registry's entry.

    Example:
        >>> from workbench.registry import Registry
        >>> r = Registry("nn_workbench.none", lambda name, obj: obj)
        >>> r["a"] = 1
        >>> list(r), "a" in r
        (['a'], True)
    """

    def __init__(self, group: str, convert: Callable[[str, Any], T]) -> None:
        self._items: dict[str, T] = {}
        self._group = group
        self._convert = convert
        self._plugins_read = False
        self.plugin_errors: dict[str, str] = {}

    def _plugins(self) -> None:
        if self._plugins_read:
            return
        self._plugins_read = True
        from importlib.metadata import entry_points

        for ep in entry_points(group=self._group):
            if ep.name in self._items:
                continue
            try:
                info = self._convert(ep.name, ep.load())
            except Exception as e:  # a broken plug-in is listed, never fatal
                self.plugin_errors[ep.name] = f"{ep.value}: {type(e).__name__}: {e}"
                continue
            self._items[ep.name] = info

    def __getitem__(self, key: str) -> T:
        self._plugins()
        return self._items[key]

    def __setitem__(self, key: str, value: T) -> None:
        self._items[key] = value

    def __delitem__(self, key: str) -> None:
        del self._items[key]

    def __iter__(self) -> Iterator[str]:
        self._plugins()
        return iter(self._items)

    def __len__(self) -> int:
        self._plugins()
        return len(self._items)

    def __contains__(self, key: object) -> bool:
        self._plugins()
        return key in self._items
