"""The one registry shape of the four plug-in families (exporters, importers, compat rules, rebuilders).

Each family declares its members in its package's ``__init__.py`` as a list of ``"module:ATTRIBUTE"`` names, in
the order they are listed and run (the compat rules report in that order). The modules are imported on first use,
so importing a family does not import every member (the docker and conda rebuilders pull in their SDKs), and a
member is checked once: an instance of the family's abstract base (``interface.py``) with every hook implemented
and a name of its own. Adding a format, a rule or a target is a module and one line in that list.
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
from collections.abc import Callable, Iterator, Mapping, Sequence
from importlib import import_module
from types import MappingProxyType
from typing import Any, Generic, TypeVar, cast

from ._frozen import frozen
from .errors import EnvsnapError, UsageError

T = TypeVar("T")
OptionsT = TypeVar("OptionsT", bound="Options")


class Registry(Mapping[str, T], Generic[T]):
    """A family's members by name, in declared order."""

    # ``base`` is abstract, which ``type[T]`` would refuse (mypy's type-abstract): the annotated variable
    # (``REGISTRY: Registry[Exporter]``) says what T is.
    def __init__(
        self, base: type, package: str, members: Sequence[str], *, what: str, unknown: Callable[[str], EnvsnapError]
    ) -> None:
        self.base = base
        self.package = package
        self.members = tuple(members)
        self.what = what  # "export format", "rebuild target": names the member kind in the unknown-name error
        self._unknown = unknown

    @functools.cached_property
    def _table(self) -> dict[str, T]:
        table: dict[str, T] = {}
        for member in self.members:
            plugin = self._load(member)
            name: str = getattr(plugin, "name", "")
            if not name or name in table:
                raise TypeError(f"{self.package}.{member}: its name {name!r} is empty or taken")
            table[name] = plugin
        return table

    def _load(self, member: str) -> T:
        module_name, _, attribute = member.partition(":")
        plugin = getattr(import_module(f"{self.package}.{module_name}"), attribute)
        # Abstract methods left (what ``inspect.isabstract`` reads), without importing inspect for it: a rebuild's
        # only use of that module, 7 ms of its start beside the installer (envsnap/_lazyinspect.py).
        if not isinstance(plugin, self.base) or getattr(type(plugin), "__abstractmethods__", None):
            raise TypeError(f"{self.package}.{member} is not a complete {self.base.__name__}")
        return cast("T", plugin)

    def __getitem__(self, name: str) -> T:
        return self._table[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._table)

    def __len__(self) -> int:
        return len(self._table)

    def find(self, name: str) -> T:
        """The member called ``name``; an unknown name is bad input (the family's error, exit code 2). A member
        whose module has that name is imported alone, as long as the whole table is not loaded: ``rebuild --target
        venv`` does not import the docker and conda targets (0.17 s of CPU: Jinja2, the Dockerfile spec)."""
        alone = next((m for m in self.members if m.partition(":")[0] == name), None)
        if alone is not None and "_table" not in self.__dict__:
            plugin = self._load(alone)
            if getattr(plugin, "name", "") == name:
                return plugin
        if name not in self._table:
            raise self._unknown(f"unknown {self.what} {name!r} (known: {', '.join(self._table) or 'none'})")
        return self._table[name]


def flag(help: str, *, metavar: str | None = None, choices: Sequence[str] | None = None) -> dict[str, Any]:
    """Field metadata of an ``Options`` field that is also a command-line flag, ``--field-name``."""
    return {"flag": {"help": help, "metavar": metavar, "choices": tuple(choices) if choices else None}}


@frozen
class Options:
    """A plug-in's own options, as a frozen dataclass of text fields (a rebuild target's ``--tag``, ``--engine``).

    Every field may be set with ``--option KEY=VALUE``; a field whose metadata is ``flag(...)`` is also a flag of
    its own. Anything else is refused (``UsageError``, exit code 2): an option another target takes, or none does,
    is a mistake to name, not one to ignore. A subclass checks values in ``__post_init__``.
    """

    @classmethod
    def flags(cls) -> dict[str, dict[str, Any]]:
        """``--flag-name`` -> its argparse settings (``dest`` the field), for the fields that are flags."""
        out: dict[str, dict[str, Any]] = {}
        for f in dataclasses.fields(cls):
            if "flag" in f.metadata:
                settings = {k: v for k, v in f.metadata["flag"].items() if v is not None}
                out["--" + f.name.replace("_", "-")] = {"dest": f.name, "default": None, **settings}
        return out

    @classmethod
    def from_mapping(cls: type[OptionsT], options: Mapping[str, str], *, owner: str) -> OptionsT:
        """The options named in ``options`` (field -> text); ``owner`` ("the venv target") names who refuses an
        unknown one."""
        known = [f.name for f in dataclasses.fields(cls)]
        unknown = sorted(set(options) - set(known))
        if unknown:
            takes = f" (it takes: {', '.join(known)})" if known else " (it takes none)"
            raise UsageError(f"{owner} has no option {unknown[0]!r}{takes}")
        return cls(**options)

    @classmethod
    def given(
        cls, args: argparse.Namespace, *, owner: str, foreign: Mapping[str, str] = MappingProxyType({})
    ) -> dict[str, str]:
        """The options given on the command line, checked (field -> text): this class's flags, and
        ``--option KEY=VALUE`` pairs (``args.option``, ``-`` read as ``_``). ``foreign`` maps the flags of the
        command that belong to other plug-ins (``--tag`` -> ``tag``): one of them given is refused."""
        own = {f.name for f in dataclasses.fields(cls)}
        for name, dest in sorted(foreign.items()):
            if dest not in own and getattr(args, dest, None) is not None:
                raise UsageError(f"{name} is not an option of {owner}")
        values = {dest: str(getattr(args, dest)) for dest in sorted(own) if getattr(args, dest, None) is not None}
        for key, value in getattr(args, "option", None) or ():
            values[key.replace("-", "_")] = value
        cls.from_mapping(values, owner=owner)
        return values

    @classmethod
    def from_args(
        cls: type[OptionsT], args: argparse.Namespace, *, owner: str, foreign: Mapping[str, str] = MappingProxyType({})
    ) -> OptionsT:
        """The options given on the command line (``given``), as this class."""
        return cls.from_mapping(cls.given(args, owner=owner, foreign=foreign), owner=owner)
