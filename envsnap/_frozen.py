"""``@frozen``: a frozen dataclass that compiles nothing when its class is made.

``@dataclass(frozen=True)`` writes six methods for each class (``__init__``, ``__setattr__``, ``__delattr__``,
``__eq__``, ``__hash__``, ``__repr__``) and compiles each from source. A venv rebuild imports some 60 such
classes: 370 small compilations, 50 ms of the CPU envsnap spends beside the installer on two cores (docs/design.md,
"A start-up that compiles nothing"). ``frozen`` lets ``dataclasses`` collect the fields and write none of those
methods (``init=False, repr=False, eq=False``, not frozen), then gives the class:

- ``__setattr__``, ``__delattr__``, ``__eq__``, ``__hash__`` and ``__repr__`` made from shared code: the behaviour
  ``@dataclass(frozen=True)`` gives, the same ``FrozenInstanceError``, the same fields compared and hashed, and the
  same ``Name(field=value, ...)`` text;
- an ``__init__`` compiled from source, as dataclass's is and just as fast, but only once the class has been
  constructed ``BOUND_CALLS`` times: the calls before are bound by shared code that sets the same fields from the
  same arguments, defaults and factories, and a call it does not take goes to the compiled one, which raises what
  dataclass's raises. A class constructed a few times (most of a rebuild's) or never by calling it (most of the
  model in a ``diff``, which builds a loaded lock's records without ``__init__``) never pays for a compile.

The class is a dataclass: ``dataclasses.fields``, ``replace``, ``asdict`` and ``is_dataclass`` answer as before.
What ``dataclass`` leaves to the class body stays the class's: an ``__eq__``, ``__repr__`` or ``__hash__`` written
there is kept, a ``__setattr__`` or ``__delattr__`` there is refused, as dataclass refuses it for a frozen class,
and ``__post_init__`` runs at the end of ``__init__``. A field without a default after one with a default is refused
when the class is made, as dataclass refuses it. tests/test_frozen.py compares every class with the one
``@dataclass(frozen=True)`` makes of it. Its ``__dataclass_params__`` say not frozen: a plain
``@dataclass(frozen=True)`` class cannot subclass one of these (nor the reverse), so every frozen class of envsnap
is made with ``frozen``.
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Callable
from dataclasses import MISSING, FrozenInstanceError
from operator import attrgetter
from typing import Any, TypeVar

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing_extensions import dataclass_transform
else:

    def dataclass_transform(**_: Any) -> Callable[[Any], Any]:
        return lambda decorator: decorator


__all__ = ["frozen"]

_Class = TypeVar("_Class", bound=type)

_COMPILE = threading.Lock()  # two threads constructing a class's first instance compile its __init__ once


@dataclass_transform(frozen_default=True, field_specifiers=(dataclasses.field, dataclasses.Field))
def frozen(cls: _Class) -> _Class:
    """``@dataclass(frozen=True)`` for ``cls``, with nothing compiled until it is first constructed."""
    body = dict(cls.__dict__)  # before dataclass adds anything
    for name in ("__setattr__", "__delattr__"):
        if name in body:
            raise TypeError(f"Cannot overwrite attribute {name} in class {cls.__name__}")
    undocumented = not cls.__doc__
    if undocumented:  # dataclass would write one with inspect.signature, which tokenizes object's text signature
        cls.__doc__ = " "
    dataclasses.dataclass(cls, init=False, repr=False, eq=False)
    fields = dataclasses.fields(cls)
    if undocumented:  # what dataclass writes: the class called with its fields
        cls.__doc__ = f"{cls.__name__}({', '.join(_shown_parameter(f) for f in fields if f.init)})"
    _check_order(fields)
    names = frozenset(f.name for f in fields)

    def __setattr__(self: Any, name: str, value: Any) -> None:
        if type(self) is cls or name in names:
            raise FrozenInstanceError(f"cannot assign to field {name!r}")
        super(cls, self).__setattr__(name, value)  # type: ignore[arg-type]

    def __delattr__(self: Any, name: str) -> None:
        if type(self) is cls or name in names:
            raise FrozenInstanceError(f"cannot delete field {name!r}")
        super(cls, self).__delattr__(name)  # type: ignore[arg-type]

    methods: list[Callable[..., Any]] = [__setattr__, __delattr__, _lazy_init(cls)]
    compared = _getter(tuple(f.name for f in fields if f.compare))
    if "__eq__" not in body:

        def __eq__(self: Any, other: object) -> Any:
            if other.__class__ is self.__class__:
                return compared(self) == compared(other)
            return NotImplemented

        methods.append(__eq__)
    # dataclass's rule for eq=True, frozen=True: a __hash__ of the fields, unless the body wrote one (a body that
    # wrote __eq__ alone has __hash__ = None from Python, which is not one).
    written = body.get("__hash__", MISSING)
    if written is MISSING or (written is None and "__eq__" in body):
        hashed = _getter(tuple(f.name for f in fields if (f.compare if f.hash is None else f.hash)))

        def __hash__(self: Any) -> int:
            return hash(hashed(self))

        methods.append(__hash__)
    if "__repr__" not in body:
        shown = tuple(f.name for f in fields if f.repr)

        def __repr__(self: Any) -> str:
            return f"{self.__class__.__qualname__}({', '.join(f'{n}={getattr(self, n)!r}' for n in shown)})"

        methods.append(__repr__)
    for method in methods:
        method.__qualname__ = f"{cls.__qualname__}.{method.__name__}"
        setattr(cls, method.__name__, method)
    return cls


def _shown_parameter(f: dataclasses.Field[Any]) -> str:
    """A field as dataclass's docstring shows it: ``name: type``, with ``= default`` or ``= <factory>``."""
    shown = f"{f.name}: {f.type if isinstance(f.type, str) else getattr(f.type, '__name__', f.type)}"
    if f.default_factory is not MISSING:
        return f"{shown} = <factory>"
    return shown if f.default is MISSING else f"{shown} = {f.default!r}"


def _getter(names: tuple[str, ...]) -> Callable[[object], tuple[Any, ...]]:
    """The tuple of these attributes of an object (a tuple even of one or none, as dataclass compares them)."""
    if len(names) > 1:
        return attrgetter(*names)
    return lambda obj: tuple(getattr(obj, name) for name in names)


def _check_order(fields: tuple[dataclasses.Field[Any], ...]) -> None:
    """dataclass's refusal of a field without a default after one with a default, among the ``__init__`` fields."""
    seen_default = False
    for f in fields:
        if not f.init:
            continue
        if f.default is MISSING and f.default_factory is MISSING:
            if seen_default:
                raise TypeError(f"non-default argument {f.name!r} follows default argument")
        else:
            seen_default = True


# Constructions of a class through the shared binder before its own ``__init__`` is compiled: a rebuild constructs 30
# of the 40 classes it makes ten times or fewer, and compiling each one's ``__init__`` (0.1-0.2 ms) cost more than
# binding their few calls in Python; the classes built by the hundred (a lock's packages) are compiled.
BOUND_CALLS = 16


def _lazy_init(cls: type) -> Callable[..., None]:
    """An ``__init__`` that binds the first ``BOUND_CALLS`` calls with shared code (``_binder``), then compiles the
    class's own, puts it in its place, and calls it. A call the binder does not take (a missing, unknown or repeated
    argument) goes to the compiled one at once, which raises what dataclass's ``__init__`` raises."""
    calls = 0
    bind: Callable[[Any, tuple[Any, ...], dict[str, Any]], bool] | None = None

    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        nonlocal calls, bind
        made = cls.__dict__["__init__"]
        if made is __init__:
            calls += 1
            if calls <= BOUND_CALLS:
                if bind is None:
                    bind = _binder(cls)
                if bind(self, args, kwargs):
                    return
            with _COMPILE:
                made = cls.__dict__["__init__"]
                if made is __init__:
                    made = _compiled_init(cls)
                    type.__setattr__(cls, "__init__", made)
        made(self, *args, **kwargs)

    return __init__


def _binder(cls: type) -> Callable[[Any, tuple[Any, ...], dict[str, Any]], bool]:
    """What the compiled ``__init__`` does for a call that names each argument once, as shared code: every field set
    with ``object.__setattr__``, in the fields' order, from its argument, its default or its default factory, then
    ``__post_init__``; False, having set nothing, for any other call."""
    fields = dataclasses.fields(cls)
    names = tuple(f.name for f in fields if f.init)
    position = {name: i for i, name in enumerate(names)}
    required = tuple(
        (i, f.name)
        for i, f in enumerate(f for f in fields if f.init)
        if f.default is MISSING and f.default_factory is MISSING
    )
    post = hasattr(cls, "__post_init__")
    setter = object.__setattr__

    def bind(self: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> bool:
        given = len(args)
        if given > len(names):
            return False
        for name in kwargs:
            at = position.get(name)
            if at is None or at < given:
                return False
        for at, name in required:
            if at >= given and name not in kwargs:
                return False
        for f in fields:
            name = f.name
            if f.init:
                at = position[name]
                if at < given:
                    value = args[at]
                elif name in kwargs:
                    value = kwargs[name]
                elif f.default_factory is not MISSING:
                    value = f.default_factory()
                else:
                    value = f.default
            elif f.default_factory is not MISSING:
                value = f.default_factory()
            elif f.default is not MISSING:
                value = f.default
            else:
                continue  # init=False without a default: dataclass leaves it unset
            setter(self, name, value)
        if post:
            self.__post_init__()
        return True

    return bind


def _compiled_init(cls: type) -> Callable[..., None]:
    """The ``__init__`` ``@dataclass(frozen=True)`` writes for ``cls``: each field set with ``object.__setattr__``
    from its argument, its default or its default factory, then ``__post_init__`` where the class has one."""
    fields = dataclasses.fields(cls)
    scope: dict[str, Any] = {"__set": object.__setattr__, "__FACTORY": _FACTORY}
    params: list[str] = []
    lines: list[str] = []
    for i, f in enumerate(fields):
        factory = f.default_factory is not MISSING
        if factory:
            scope[f"__factory{i}"] = f.default_factory
        if f.init:
            if factory:
                params.append(f"{f.name}=__FACTORY")
                value = f"__factory{i}() if {f.name} is __FACTORY else {f.name}"
            elif f.default is not MISSING:
                scope[f"__default{i}"] = f.default
                params.append(f"{f.name}=__default{i}")
                value = f.name
            else:
                params.append(f.name)
                value = f.name
        elif factory:
            value = f"__factory{i}()"
        elif f.default is not MISSING:
            scope[f"__default{i}"] = f.default
            value = f"__default{i}"
        else:
            continue  # init=False without a default: dataclass leaves it unset
        lines.append(f"    __set(self, {f.name!r}, {value})")
    if hasattr(cls, "__post_init__"):
        lines.append("    self.__post_init__()")
    source = f"def __init__(self, {', '.join(params)}):\n" + ("\n".join(lines) or "    pass") + "\n"
    namespace: dict[str, Any] = {}
    exec(compile(source, f"<frozen {cls.__module__}.{cls.__qualname__}.__init__>", "exec"), scope, namespace)
    init: Callable[..., None] = namespace["__init__"]
    init.__qualname__ = f"{cls.__qualname__}.__init__"
    return init


class _Factory:
    """The default of an ``__init__`` argument whose field has a default factory (dataclass's own marker)."""

    def __repr__(self) -> str:
        return "<factory>"


_FACTORY = _Factory()
