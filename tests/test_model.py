"""The model's classes get ``__eq__``, ``__hash__`` and ``__repr__`` from shared code (``envsnap._frozen``) rather
than from dataclass compiling them for each class (issue 18: most of ``import envsnap.model``); they must be the
methods dataclass would write, which a twin of each class made by ``dataclasses.make_dataclass(frozen=True)`` has.
tests/test_frozen.py holds the same for every other class ``@frozen`` makes."""

from __future__ import annotations

import dataclasses
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from envsnap import model

sys.path.insert(0, str(Path(__file__).parent / "export"))  # the shared sample locks (as tests/test_schema.py)
sys.path.insert(0, str(Path(__file__).parent / "security"))

CLASSES = sorted(
    (c for c in vars(model).values() if isinstance(c, type) and dataclasses.is_dataclass(c)), key=lambda c: c.__name__
)


def instances(obj: Any) -> Iterator[Any]:
    """Every model object in a tree of them (tables, tuples, mappings)."""
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        yield obj
        for f in dataclasses.fields(obj):
            yield from instances(getattr(obj, f.name))
    elif isinstance(obj, tuple):
        for item in obj:
            yield from instances(item)
    elif hasattr(obj, "values"):
        for item in obj.values():
            yield from instances(item)


def samples() -> dict[type, list[Any]]:
    from export_samples import rich_snapshot
    from test_sinks import conda_lock_snapshot, full_lock

    found: dict[type, list[Any]] = {cls: [] for cls in CLASSES}
    imported = model.Snapshot(
        python=model.PythonEnv(
            packages=(
                model.PythonPackage(
                    "six",
                    "1.16.0",
                    candidates=(
                        model.Candidate("ab" * 32, "six-1.16.0-py2.py3-none-any.whl"),
                        model.Candidate("cd" * 32),
                    ),
                ),
            )
        )
    )
    libraries = model.Snapshot(
        system=model.System(libraries=(model.SystemLibrary("libz.so.1", "/usr/lib/libz.so.1", "zlib1g", ("numpy",)),)),
        cuda=model.Cuda(copies=(model.CudaLibrary("runtime", "12.4.127", "pip", "nvidia-cuda-runtime-cu12"),)),
        python=model.PythonEnv(pth_folders=(model.PthFolder("{prefix}/lib/site-packages/mods.pth", "/data/mods"),)),
    )
    for snapshot in (full_lock(), rich_snapshot(), conda_lock_snapshot(), imported, libraries, model.Snapshot()):
        for obj in instances(snapshot):
            found[type(obj)].append(obj)
    return found


def twin(cls: type) -> type:
    """``cls`` as plain ``@dataclass(frozen=True)`` makes it: the same fields, dataclass's own methods."""
    made = dataclasses.make_dataclass(
        cls.__name__,
        [
            (f.name, f.type, dataclasses.field(compare=f.compare, hash=f.hash, repr=f.repr))
            for f in dataclasses.fields(cls)
        ],
        frozen=True,
    )
    made.__qualname__ = cls.__qualname__
    return made


def values(obj: Any) -> dict[str, Any]:
    return {f.name: getattr(obj, f.name) for f in dataclasses.fields(obj)}


@pytest.mark.parametrize("cls", CLASSES, ids=lambda c: c.__name__)
def test_eq_hash_and_repr_are_what_dataclass_writes(cls: type) -> None:
    objects = samples()[cls]
    assert objects, f"no sample of {cls.__name__}"
    reference = twin(cls)
    assert cls.__eq__.__module__ == "envsnap._frozen"  # the methods are @frozen's, not compiled for the class
    for obj in objects:
        ref = reference(**values(obj))
        assert repr(obj) == repr(ref)
        try:
            expected_hash: int | None = hash(ref)
        except TypeError:  # a mapping field (Snapshot.environment): unhashable either way
            expected_hash = None
        if expected_hash is None:
            with pytest.raises(TypeError):
                hash(obj)
        else:
            assert hash(obj) == expected_hash
        same = cls(**values(obj))
        assert obj == same and ref == reference(**values(obj))
        assert not obj != same  # noqa: SIM202 (__ne__ inverts __eq__, as dataclass's)
        assert obj.__eq__(ref) is NotImplemented and ref.__eq__(obj) is NotImplemented
        assert obj.__eq__(object()) is NotImplemented
        assert obj != ref  # another class, as with dataclass's own __eq__
        for other in objects:
            assert (obj == other) == (ref == reference(**values(other)))
        with pytest.raises(dataclasses.FrozenInstanceError):
            obj.anything = 1
    assert cls.__eq__.__qualname__ == f"{cls.__qualname__}.__eq__"


def test_a_changed_field_makes_it_unequal_and_fields_compare_as_in_a_tuple() -> None:
    base = model.PythonPackage(name="numpy", version="2.0.0")
    for name, value in [("name", "scipy"), ("version", "2.0.1"), ("requested", True), ("source", model.Source("vcs"))]:
        assert dataclasses.replace(base, **{name: value}) != base
    assert dataclasses.replace(base) == base and hash(dataclasses.replace(base)) == hash(base)
    # Fields are compared as a tuple compares items: identity first, so the same NaN object is equal to itself.
    nan = float("nan")
    assert model.Gpu(index=nan) == model.Gpu(index=nan)  # type: ignore[arg-type]
    assert model.Gpu(index=nan) != model.Gpu(index=float("nan"))  # type: ignore[arg-type]


def test_every_model_class_has_a_docstring_of_its_own() -> None:
    """Without one, dataclass writes one with inspect.signature at import (a tenth of the model's cost)."""
    for cls in CLASSES:
        assert cls.__doc__ and not cls.__doc__.startswith(f"{cls.__name__}("), cls.__name__
