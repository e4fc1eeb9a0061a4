"""Named plugins: explicit registration, lazy loading, helpful errors for unknown names."""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from importlib import metadata
from typing import Any, Callable, Generic, Iterator, TypeVar

from geoprivacy.errors import GeoprivacyError

T = TypeVar("T")


@dataclass(frozen=True)
class Plugin(Generic[T]):
    """A named component. ``load()`` does the heavy imports; ``available()`` (packages
    installed) and ``needs()`` (what is still missing to run here, such as weights, or None)
    must stay cheap."""

    name: str
    description: str
    load: Callable[[], T]
    extra: str | None = None                      # pip extra it needs, e.g. "vision"
    available: Callable[[], bool] = lambda: True
    needs: Callable[[], str | None] = lambda: None


class Registry(Generic[T]):
    """Plugins of one kind (attackers, cues, defenses, report writers) keyed by name."""

    def __init__(self, kind: str, entry_point_group: str | None = None) -> None:
        self.kind = kind
        self._plugins: dict[str, Plugin[T]] = {}
        self._group = entry_point_group
        self._entry_points_loaded = False

    def register(self, plugin: Plugin[T]) -> Plugin[T]:
        if plugin.name in self._plugins:
            raise ValueError(f"{self.kind} {plugin.name!r} is already registered")
        self._plugins[plugin.name] = plugin
        return plugin

    def _load_entry_points(self) -> None:
        if self._entry_points_loaded or not self._group:
            return
        self._entry_points_loaded = True
        for ep in metadata.entry_points(group=self._group):
            if ep.name not in self._plugins:
                self._plugins[ep.name] = ep.load()

    def get(self, name: str) -> Plugin[T]:
        self._load_entry_points()
        try:
            return self._plugins[name]
        except KeyError:
            close = difflib.get_close_matches(name, self._plugins, n=3)
            hint = f"; did you mean {', '.join(close)}?" if close else \
                f"; known: {', '.join(sorted(self._plugins))}"
            raise GeoprivacyError(f"unknown {self.kind} {name!r}{hint}") from None

    def names(self) -> list[str]:
        self._load_entry_points()
        return sorted(self._plugins)

    def __iter__(self) -> Iterator[Plugin[T]]:
        self._load_entry_points()
        return iter([self._plugins[n] for n in sorted(self._plugins)])

    def __contains__(self, name: object) -> bool:
        self._load_entry_points()
        return name in self._plugins


def instantiate(registry: Registry[Any], name: str) -> Any:
    """Load a plugin, turning a missing optional dependency into a one-line error."""
    plugin = registry.get(name)
    try:
        return plugin.load()
    except ImportError as exc:
        extra = f" (pip install 'geoprivacy[{plugin.extra}]')" if plugin.extra else ""
        raise GeoprivacyError(f"{registry.kind} {name!r} needs a package that is not "
                              f"installed: {exc.name or exc}{extra}") from None
