"""Name → object registries, so configs can name operators, datasets and fitness measures."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Generic, TypeVar

from deatf_gan.errors import ConfigError

T = TypeVar("T")


class Registry(Generic[T]):
    """A named table filled with the :meth:`register` decorator.

    ``get`` on an unknown name raises :class:`ConfigError` listing the valid names, so a
    typo in a config is answered with the choices instead of a ``KeyError``.
    """

    def __init__(self, kind: str):
        self.kind = kind
        self._entries: dict[str, T] = {}

    def register(self, name: str, obj: T | None = None):
        """Register ``obj`` under ``name``; without ``obj``, work as a decorator."""
        if obj is not None:
            self._add(name, obj)
            return obj

        def decorator(target: T) -> T:
            self._add(name, target)
            return target

        return decorator

    def _add(self, name: str, obj: T) -> None:
        if name in self._entries and self._entries[name] is not obj:
            raise ValueError(f"{self.kind} {name!r} is already registered")
        self._entries[name] = obj

    def get(self, name: str) -> T:
        try:
            return self._entries[name]
        except KeyError:
            raise ConfigError(
                f"unknown {self.kind} {name!r}; valid names: {', '.join(sorted(self._entries))}"
            ) from None

    def unregister(self, name: str) -> None:
        self._entries.pop(name, None)

    def names(self) -> list[str]:
        return sorted(self._entries)

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def __iter__(self) -> Iterator[str]:
        return iter(sorted(self._entries))

    def __len__(self) -> int:
        return len(self._entries)


def resolve(registry: Registry[Callable], name_or_callable) -> Callable:
    """A config names a registry entry; the Python API may also pass a plain callable."""
    if callable(name_or_callable):
        return name_or_callable
    return registry.get(name_or_callable)
