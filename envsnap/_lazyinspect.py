"""``dataclasses`` imported without ``inspect``, which it loads at its top for one call envsnap never makes.

On Python 3.10 and 3.11 ``dataclasses`` uses ``inspect`` only to write a docstring for a class without one
(``inspect.signature``); every class envsnap makes with ``@frozen`` has one before ``dataclass`` sees it
(``_frozen``). Importing ``inspect`` brings ``ast``, ``dis``, ``tokenize`` and ``linecache`` with it: 7 ms of a
process's start, the largest single import before a cold ``diff`` forks its second process, and paid again by every
other command (issue 19). ``defer`` arranges that ``dataclasses``, whenever something first imports it, is executed
with a stand-in for ``inspect`` that imports the real module at the first attribute anything reads from it, so the
behaviour is the same and only the time moves. It imports nothing itself: a command that never needs
``dataclasses`` (a capture answered from its memo) still loads neither.

From Python 3.12 ``dataclasses`` reads every class's annotations through ``inspect.get_annotations``, so the first
class made imports ``inspect`` as before: nothing is gained there, and nothing changes either.

Only for the program itself (``cli.main`` with no arguments given): a caller that imports envsnap as a library keeps
whatever ``dataclasses`` it imported, and ``sys.modules`` holds the stand-in only while ``dataclasses`` executes, so
every other ``import inspect`` gets the real module (tests/test_startup.py).
"""

from __future__ import annotations

import sys

TYPE_CHECKING = False  # not typing's: this runs before the command's own imports
if TYPE_CHECKING:
    from collections.abc import Sequence
    from importlib.machinery import ModuleSpec
    from types import ModuleType


class _Inspect:
    """``inspect`` for ``dataclasses``: the real module, imported at the first attribute read."""

    __spec__ = None  # read by the import system when the name is imported: not an attribute of the real module

    def __getattr__(self, name: str) -> object:
        return getattr(_real(), name)


def _real() -> ModuleType:
    import inspect  # the stand-in is never in sys.modules once ``dataclasses`` has executed

    return inspect


class _Loader:
    """The loader ``dataclasses`` was found with, executing it with the stand-in as ``inspect``; the module keeps
    its own loader after."""

    def __init__(self, real: object) -> None:
        self.real = real

    def create_module(self, spec: ModuleSpec) -> ModuleType | None:
        create = getattr(self.real, "create_module", None)
        return create(spec) if create is not None else None

    def exec_module(self, module: ModuleType) -> None:
        module.__loader__ = self.real  # type: ignore[assignment]
        if module.__spec__ is not None:
            module.__spec__.loader = self.real  # type: ignore[assignment]
        if "inspect" in sys.modules:
            self.real.exec_module(module)  # type: ignore[attr-defined]
            return
        sys.modules["inspect"] = _Inspect()  # type: ignore[assignment]  # read once, by dataclasses' ``import inspect``
        try:
            self.real.exec_module(module)  # type: ignore[attr-defined]
        finally:
            if isinstance(sys.modules.get("inspect"), _Inspect):
                del sys.modules["inspect"]


class _Finder:
    """Finds ``dataclasses`` once, as the finders after it do, and hands it to ``_Loader``; then leaves."""

    def find_spec(
        self, name: str, path: Sequence[str] | None = None, target: ModuleType | None = None
    ) -> ModuleSpec | None:
        if name != "dataclasses":
            return None
        sys.meta_path.remove(self)
        if "inspect" in sys.modules:
            return None  # the real one is there already: nothing to defer
        for finder in sys.meta_path:
            find = getattr(finder, "find_spec", None)
            spec: ModuleSpec | None = find(name, path, target) if find is not None else None
            if spec is not None:
                if spec.loader is not None and hasattr(spec.loader, "exec_module"):
                    spec.loader = _Loader(spec.loader)  # type: ignore[assignment]  # a loader by its methods
                return spec
        return None


def defer() -> bool:
    """Have ``dataclasses`` imported with ``inspect`` left for later, when it is first imported; whether it will be
    (neither module is imported yet)."""
    if "dataclasses" in sys.modules or "inspect" in sys.modules:
        return False
    if not any(isinstance(finder, _Finder) for finder in sys.meta_path):
        sys.meta_path.insert(0, _Finder())
    return True
