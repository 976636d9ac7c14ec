"""``dataclasses`` imported without ``inspect``, which it loads at its top for one call envsnap never makes.

On Python 3.10 and 3.11 ``dataclasses`` uses ``inspect`` only to write a docstring for a class without one
(``inspect.signature``); every class envsnap makes with ``@frozen`` has one before ``dataclass`` sees it
(``_frozen``). Importing ``inspect`` brings ``ast``, ``dis``, ``tokenize`` and ``linecache`` with it: 7 ms of a
process's start, the largest single import before a cold ``diff`` forks its second process, and paid again by every
other command (issue 19). ``defer`` imports ``dataclasses`` with a stand-in for ``inspect`` that imports the real
module at the first attribute anything reads from it, so the behaviour is the same and only the time moves.

From Python 3.12 ``dataclasses`` reads every class's annotations through ``inspect.get_annotations``, so the first
class made imports ``inspect`` as before: nothing is gained there, and nothing changes either.

Only for the program itself (``cli.main`` with no arguments given): a caller that imports envsnap as a library keeps
whatever ``dataclasses`` it imported, and ``sys.modules`` holds the stand-in only while ``dataclasses`` is imported,
so every other ``import inspect`` gets the real module (tests/test_startup.py).
"""

from __future__ import annotations

import sys

TYPE_CHECKING = False  # not typing's: this runs before the command's own imports
if TYPE_CHECKING:
    from types import ModuleType


class _Inspect:
    """``inspect`` for ``dataclasses``: the real module, imported at the first attribute read."""

    __spec__ = None  # read by the import system when the name is imported: not an attribute of the real module

    def __getattr__(self, name: str) -> object:
        return getattr(_real(), name)


def _real() -> ModuleType:
    import inspect  # the stand-in is never in sys.modules once ``defer`` returns

    return inspect


def defer() -> bool:
    """Import ``dataclasses`` with ``inspect`` left for later; whether it did (neither module was imported yet)."""
    if "dataclasses" in sys.modules or "inspect" in sys.modules:
        return False
    sys.modules["inspect"] = _Inspect()  # type: ignore[assignment]  # read once, by dataclasses' ``import inspect``
    try:
        import dataclasses  # noqa: F401  (imported here, with the stand-in as its ``inspect``)
    finally:
        if isinstance(sys.modules.get("inspect"), _Inspect):
            del sys.modules["inspect"]
    return True
