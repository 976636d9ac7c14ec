"""``@frozen`` (envsnap/_frozen.py): a frozen dataclass that compiles nothing when its class is made, and behaves as
``@dataclass(frozen=True)`` makes it. Every such class of envsnap is compared with its twin made by dataclass."""

from __future__ import annotations

import dataclasses
import importlib
import inspect
import pkgutil
import subprocess
import sys
import textwrap
from typing import Any, ClassVar

import pytest

import envsnap
from envsnap import _frozen
from envsnap._frozen import frozen


def frozen_classes() -> list[type]:
    """Every class of envsnap that ``@frozen`` made, from every module of the package."""
    for info in pkgutil.walk_packages(envsnap.__path__, "envsnap."):
        if not info.name.endswith("__main__"):  # the program, not a module
            importlib.import_module(info.name)
    found = {
        value
        for name, module in sorted(sys.modules.items())
        if name.startswith("envsnap.") and module is not None
        for value in vars(module).values()
        if isinstance(value, type)
        and dataclasses.is_dataclass(value)
        and getattr(vars(value).get("__setattr__"), "__module__", "") == "envsnap._frozen"
    }
    return sorted(found, key=lambda c: f"{c.__module__}.{c.__qualname__}")


CLASSES = frozen_classes()


def twin(cls: type) -> type:
    """``cls`` as ``@dataclass(frozen=True)`` makes it: the same fields (defaults and all), dataclass's methods."""
    specs = []
    for f in dataclasses.fields(cls):
        options: dict[str, Any] = {"init": f.init, "repr": f.repr, "compare": f.compare, "hash": f.hash}
        if f.default is not dataclasses.MISSING:
            options["default"] = f.default
        if f.default_factory is not dataclasses.MISSING:
            options["default_factory"] = f.default_factory
        specs.append((f.name, f.type, dataclasses.field(**options)))
    made = dataclasses.make_dataclass(cls.__name__, specs, frozen=True)
    made.__qualname__ = cls.__qualname__
    return made


def test_envsnap_makes_its_frozen_classes_with_frozen() -> None:
    assert len(CLASSES) > 100
    plain = [
        f"{value.__module__}.{value.__qualname__}"
        for name, module in sorted(sys.modules.items())
        if name.startswith("envsnap.") and module is not None
        for value in vars(module).values()
        if isinstance(value, type)
        and value.__module__ == name
        and dataclasses.is_dataclass(value)
        and value.__dataclass_params__.frozen  # type: ignore[attr-defined]
    ]
    assert plain == []  # one left to dataclass compiles its six methods at import


@pytest.mark.parametrize("cls", CLASSES, ids=lambda c: f"{c.__module__}.{c.__qualname__}")
def test_each_class_takes_what_dataclass_frozen_takes(cls: type) -> None:
    reference = twin(cls)
    ours = inspect.signature(_frozen._compiled_init(cls))
    theirs = inspect.signature(reference.__init__)  # type: ignore[misc]
    assert [(p.name, p.kind) for p in ours.parameters.values()] == [
        (p.name, p.kind) for p in theirs.parameters.values()
    ]
    for mine, its in zip(ours.parameters.values(), theirs.parameters.values(), strict=True):
        if its.default is inspect.Parameter.empty:
            assert mine.default is inspect.Parameter.empty, mine.name
        elif repr(its.default) != "<factory>":
            assert mine.default is its.default, mine.name
    assert [f.name for f in dataclasses.fields(cls)] == [f.name for f in dataclasses.fields(reference)]
    if all(p.default is not inspect.Parameter.empty for p in theirs.parameters.values() if p.name != "self"):
        try:
            made = cls()
        except (TypeError, ValueError):  # a __post_init__ that refuses the defaults (which the twin has not)
            return
        plain = reference()
        assert {f.name: getattr(made, f.name) for f in dataclasses.fields(cls)} == {
            f.name: getattr(plain, f.name) for f in dataclasses.fields(reference)
        }
        assert repr(made) == repr(plain).replace(reference.__qualname__, cls.__qualname__, 1)
        assert made == cls() and (made == plain) is False
        with pytest.raises(dataclasses.FrozenInstanceError):
            made.anything = 1  # type: ignore[attr-defined]


def test_a_class_compiles_its_init_only_once_constructed_often() -> None:
    """The first ``BOUND_CALLS`` constructions are bound by shared code (a rebuild constructs 30 of its 40 classes ten
    times or fewer, and compiled 5.8 ms of ``__init__`` for them); then the class's own is compiled, once."""

    @frozen
    class Point:
        """A point."""

        x: int
        y: int = 0
        tags: tuple[str, ...] = ()
        seen: list[int] = dataclasses.field(default_factory=list, compare=False)

    stub = Point.__dict__["__init__"]
    assert stub.__code__.co_filename == _frozen.__file__  # nothing compiled for the class yet
    first = Point(1, tags=("a",))
    assert Point.__dict__["__init__"] is stub  # bound, not compiled
    assert (first.x, first.y, first.tags, first.seen) == (1, 0, ("a",), [])
    assert Point(1).seen is not Point(1).seen  # a fresh default from the factory each time
    assert Point(2) == Point(2, 0) and hash(Point(2)) == hash(Point(2, 0)) and Point(2) != Point(3)
    assert repr(Point(2)).endswith("<locals>.Point(x=2, y=0, tags=(), seen=[])")  # the qualified name, as dataclass
    while Point.__dict__["__init__"] is stub:
        Point(0)
    made = Point.__dict__["__init__"]
    assert made.__code__.co_filename.startswith("<frozen ")
    assert made.__qualname__ == "test_a_class_compiles_its_init_only_once_constructed_often.<locals>.Point.__init__"
    Point(0)
    assert Point.__dict__["__init__"] is made  # compiled once


def _point() -> type:
    @frozen
    class Point:
        x: int
        y: int = 0
        seen: list[int] = dataclasses.field(default_factory=list, compare=False)
        kind: str = dataclasses.field(default="p", init=False)
        made: list[int] = dataclasses.field(default_factory=list, init=False)

        def __post_init__(self) -> None:
            object.__setattr__(self, "made", [self.x, self.y])

    return Point


@pytest.mark.parametrize(
    ("args", "kwargs"),
    [((1,), {}), ((1, 2), {}), ((), {"x": 1}), ((1,), {"y": 2}), ((), {"y": 2, "x": 1}), ((1, 2, [3]), {})],
)
def test_the_shared_binder_builds_what_the_compiled_init_builds(args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    bound, compiled = _point(), _point()
    type.__setattr__(compiled, "__init__", _frozen._compiled_init(compiled))
    a, b = bound(*args, **kwargs), compiled(*args, **kwargs)
    assert bound.__dict__["__init__"].__code__.co_filename == _frozen.__file__  # still the binder's
    assert [getattr(a, f.name) for f in dataclasses.fields(a)] == [getattr(b, f.name) for f in dataclasses.fields(b)]


@pytest.mark.parametrize(
    ("args", "kwargs", "message"),
    [
        ((), {}, r"missing 1 required positional argument: 'x'"),
        ((1, 2, [], 4), {}, r"takes from 2 to 4 positional arguments but 5 were given"),
        ((1,), {"x": 2}, r"got multiple values for argument 'x'"),
        ((1,), {"kind": "q"}, r"got an unexpected keyword argument 'kind'"),
    ],
)
def test_a_call_the_binder_does_not_take_raises_what_dataclass_raises(
    args: tuple[Any, ...], kwargs: dict[str, Any], message: str
) -> None:
    bound = _point()
    with pytest.raises(TypeError, match=message):
        bound(*args, **kwargs)
    assert bound.__dict__["__init__"].__code__.co_filename.startswith("<frozen ")  # the compiled one said it


def test_it_refuses_and_keeps_what_dataclass_frozen_refuses_and_keeps() -> None:
    @frozen
    class Base:
        """A base."""

        a: int
        b: int = dataclasses.field(default=5, compare=False, repr=False)
        c: int = dataclasses.field(init=False, default=7)
        d: list[int] = dataclasses.field(init=False, default_factory=list)
        e: ClassVar[int] = 3

        def __post_init__(self) -> None:
            object.__setattr__(self, "d", [self.a])

    item = Base(1)
    assert (item.a, item.b, item.c, item.d) == (1, 5, 7, [1])
    assert [f.name for f in dataclasses.fields(Base)] == ["a", "b", "c", "d"]
    assert Base(1) == Base(1, 6) and repr(item).endswith(".Base(a=1, c=7, d=[1])")
    with pytest.raises(dataclasses.FrozenInstanceError, match="cannot assign to field 'a'"):
        item.a = 2  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError, match="cannot delete field 'a'"):
        del item.a  # type: ignore[misc]
    with pytest.raises(TypeError, match=r"__init__\(\) missing 1 required positional argument: 'a'"):
        Base()  # type: ignore[call-arg]
    with pytest.raises(TypeError, match="unexpected keyword argument 'c'"):
        Base(1, c=2)  # type: ignore[call-arg]
    assert dataclasses.replace(item, a=4) == Base(4) and dataclasses.asdict(Base(2))["d"] == [2]

    @frozen
    class Child(Base):
        """A child."""

        f: str = "x"

    child = Child(1, f="y")
    assert (child.a, child.f, child.d) == (1, "y", [1]) and child != Base(1)
    with pytest.raises(dataclasses.FrozenInstanceError):
        child.f = "z"  # type: ignore[misc]

    @frozen
    class Written:
        """Its own methods."""

        a: int

        def __eq__(self, other: object) -> bool:
            return True

        def __repr__(self) -> str:
            return "mine"

    assert Written(1) == Written(2) and repr(Written(1)) == "mine"
    assert hash(Written(1)) == hash((1,))  # dataclass still hashes the fields when the body wrote only __eq__

    with pytest.raises(TypeError, match="Cannot overwrite attribute __setattr__ in class Settable"):

        @frozen
        class Settable:
            """Writes its own __setattr__."""

            a: int

            def __setattr__(self, name: str, value: Any) -> None:
                pass

    with pytest.raises(TypeError, match="non-default argument 'b' follows default argument"):

        @frozen
        class Ordered:
            """A field without a default after one with a default."""

            a: int = 0
            b: int  # type: ignore[misc]


def test_importing_the_model_and_loading_a_lock_compiles_no_method() -> None:
    """dataclass compiled some 130 methods for ``import envsnap.lockfile``; now only the ``__init__`` of the one
    class the import constructs (``lockfile.Rule``) is, and a loaded lock's records need none."""
    script = textwrap.dedent(
        """
        import sys
        compiled = []
        def hook(event, args):
            code = args[0] if event == "exec" else None
            if hasattr(code, "co_filename"):
                made = [c.co_name for c in code.co_consts if hasattr(c, "co_name")]
                if "__create_fn__" in made or code.co_filename.startswith("<frozen envsnap"):
                    compiled.append(code.co_filename)  # a method dataclass wrote, or an __init__ @frozen compiled
        sys.addaudithook(hook)
        from envsnap import lockfile, model
        print(",".join(compiled))
        text = lockfile.dumps(model.Snapshot())
        del compiled[:]
        lockfile.loads(text)
        print(",".join(compiled) or "none")
        """
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert done.stdout.splitlines() == ["<frozen envsnap.lockfile.Rule.__init__>", "none"]


def test_a_class_without_a_docstring_gets_dataclass_s_without_inspect() -> None:
    """dataclass writes a missing docstring from ``inspect.signature``, which, with no ``__init__`` of the class's
    own yet, tokenizes ``object``'s text signature (a regular expression compiled at every start)."""
    import re

    @frozen
    class Plain:
        a: int
        b: str = "x"
        c: tuple[int, ...] = dataclasses.field(default_factory=tuple)

    assert Plain.__doc__ == "Plain(a: int, b: str = 'x', c: tuple[int, ...] = <factory>)"
    compiled = re._cache.copy()  # type: ignore[attr-defined]
    re.purge()
    try:

        @frozen
        class Again:
            a: int

        assert not re._cache  # type: ignore[attr-defined]  # no pattern compiled to make the class
    finally:
        re._cache.update(compiled)  # type: ignore[attr-defined]
