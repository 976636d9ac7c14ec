"""The one registry shape of the four plug-in families (exporters, importers, compat rules, rebuilders).

Each family declares its members in its package's ``__init__.py`` as a list of ``"module:ATTRIBUTE"`` names, in
the order they are listed and run (the compat rules report in that order). The modules are imported on first use,
so importing a family does not import every member (the docker and conda rebuilders pull in their SDKs), and a
member is checked once: an instance of the family's abstract base (``interface.py``) with every hook implemented
and a name of its own. Adding a format, a rule or a target is a module and one line in that list.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Iterator, Mapping, Sequence
from importlib import import_module
from typing import Generic, TypeVar, cast

from .errors import EnvsnapError

T = TypeVar("T")


class Registry(Mapping[str, T], Generic[T]):
    """A family's members by name, in declared order."""

    # ``base`` is abstract, which ``type[T]`` would refuse (mypy's type-abstract): the annotated variable
    # (``REGISTRY: Registry[Exporter]``) says what T is.
    def __init__(self, base: type, package: str, members: Sequence[str], *, what: str,
                 unknown: Callable[[str], EnvsnapError]) -> None:
        self.base = base
        self.package = package
        self.members = tuple(members)
        self.what = what  # "export format", "rebuild target": names the member kind in the unknown-name error
        self._unknown = unknown

    @functools.cached_property
    def _table(self) -> dict[str, T]:
        table: dict[str, T] = {}
        for member in self.members:
            module_name, _, attribute = member.partition(":")
            plugin = getattr(import_module(f"{self.package}.{module_name}"), attribute)
            if not isinstance(plugin, self.base) or inspect.isabstract(type(plugin)):
                raise TypeError(f"{self.package}.{member} is not a complete {self.base.__name__}")
            name: str = getattr(plugin, "name", "")
            if not name or name in table:
                raise TypeError(f"{self.package}.{member}: its name {name!r} is empty or taken")
            table[name] = cast("T", plugin)
        return table

    def __getitem__(self, name: str) -> T:
        return self._table[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._table)

    def __len__(self) -> int:
        return len(self._table)

    def find(self, name: str) -> T:
        """The member called ``name``; an unknown name is bad input (the family's error, exit code 2)."""
        if name not in self._table:
            raise self._unknown(f"unknown {self.what} {name!r} (known: {', '.join(self._table) or 'none'})")
        return self._table[name]


def discover(package: str, path: Sequence[str], kind: type[T], *attributes: str) -> dict[str, T]:
    """Members of ``kind`` found under ``attributes`` in the modules of ``package`` (the rebuilders, until they
    take a ``Registry``)."""
    import pkgutil

    found: dict[str, T] = {}
    for info in pkgutil.iter_modules(list(path)):
        if info.name.startswith("_") or info.name == "interface":
            continue
        module = import_module(f"{package}.{info.name}")
        for attribute in attributes:
            member = getattr(module, attribute, None)
            if isinstance(member, kind):
                found[member.name] = member  # type: ignore[attr-defined]
    return dict(sorted(found.items()))
