"""The model's cost: envsnap's frozen dataclasses against msgspec Structs of the same fields (issue 18's question).

    python bench/model.py [--msgspec-path DIR] [--packages 1000] [--runs 7]

msgspec is not a dependency: pass the folder it is installed in (``pip install --target DIR msgspec``) when the
running interpreter lacks it. The Structs are made from the model itself (every dataclass of envsnap/model.py,
its fields, defaults and resolved types, nested model classes replaced by their Structs), frozen, so each pair
holds the same data. Printed, best of --runs, each beside its peer:
1. defining the model's classes: executing envsnap/model.py (its imports already loaded) against
   ``msgspec.defstruct`` of every class (what ``import envsnap.model`` costs each command);
2. building a lock of N packages (the Snapshot with its PythonPackage, Artifact and Source records);
3. converting it to builtins (``lockfile.to_dict`` against ``msgspec.to_builtins``) and back
   (``lockfile.from_document``, which also applies every grammar rule of ``lockfile.RULES``, against
   ``msgspec.convert``, which checks types only).
The decision and its reasons: docs/design.md, "Validating a lock".
"""

from __future__ import annotations

import argparse
import collections.abc
import dataclasses
import sys
import time
import types
import typing
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def best_ms(fn: Callable[[], object], runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times) * 1000


MODEL_CODE = compile((ROOT / "envsnap" / "model.py").read_text(), "model.py", "exec")  # compiled once: a .pyc


def define_dataclasses() -> None:
    namespace: dict[str, Any] = {"__name__": "envsnap._bench_model", "__package__": "envsnap"}
    sys.modules["envsnap._bench_model"] = types.ModuleType("envsnap._bench_model")
    exec(MODEL_CODE, namespace)


def model_classes() -> list[type]:
    from envsnap import model

    return [v for v in vars(model).values() if isinstance(v, type) and dataclasses.is_dataclass(v)]


def struct_specs(msgspec: Any) -> Callable[[], dict[type, Any]]:
    """A function defining one Struct per model dataclass, the same fields, defaults and types."""
    from envsnap import model

    classes = model_classes()
    hints = {cls: typing.get_type_hints(cls, vars(model)) for cls in classes}

    def define() -> dict[type, Any]:
        structs: dict[type, Any] = {}

        def mapped(tp: Any) -> Any:
            if tp in structs:
                return structs[tp]
            origin, args = typing.get_origin(tp), typing.get_args(tp)
            if origin is None or origin is typing.Literal:
                return tp
            if origin in (collections.abc.Mapping, dict):
                return dict[tuple(mapped(a) for a in args)]  # type: ignore[misc]
            if origin is tuple:
                return tuple[tuple(mapped(a) for a in args)]  # type: ignore[misc]
            if origin in (typing.Union, types.UnionType):
                return typing.Union[tuple(mapped(a) for a in args)]  # noqa: UP007
            return tp

        pending = list(classes)
        while pending:  # a class after the classes its fields name
            for cls in list(pending):
                if any(other in pending and other is not cls for other in _named(hints[cls], classes)):
                    continue
                fields = []
                for f in dataclasses.fields(cls):
                    if f.default is not dataclasses.MISSING:
                        default = f.default
                    elif typing.get_origin(hints[cls][f.name]) is collections.abc.Mapping:
                        default = msgspec.field(default_factory=dict)  # the model's is a read-only mappingproxy
                    elif f.default_factory is not dataclasses.MISSING:
                        default = msgspec.field(default_factory=f.default_factory)
                    else:
                        fields.append((f.name, mapped(hints[cls][f.name])))
                        continue
                    fields.append((f.name, mapped(hints[cls][f.name]), default))
                structs[cls] = msgspec.defstruct(cls.__name__, fields, frozen=True, kw_only=True)
                pending.remove(cls)
        return structs

    return define


def _named(tp: Any, classes: list[type]) -> set[type]:
    found = {tp} if tp in classes else set()
    if isinstance(tp, dict):
        for v in tp.values():
            found |= _named(v, classes)
    for arg in typing.get_args(tp):
        found |= _named(arg, classes)
    return found


def make_lock(n: int, kinds: dict[str, Any]) -> Any:
    """A lock of ``n`` pinned packages built from ``kinds`` (the model's classes or their Structs, by name)."""
    packages = tuple(
        kinds["PythonPackage"](
            name=f"pkg{i:05d}-x",
            version=f"1.{i}.0",
            installer="pip",
            wheel_tags=("cp311-cp311-manylinux_2_17_x86_64",),
            record_digest="sha256:" + "ab" * 32,
            requires_dist=("numpy>=1.0",),
            requires_python=">=3.9",
            source=kinds["Source"](kind="index"),
            artifact=kinds["Artifact"](
                filename=f"pkg{i:05d}_x-1.{i}.0-py3-none-any.whl",
                url=f"https://files.example.org/p/pkg{i:05d}_x-1.{i}.0-py3-none-any.whl",
                sha256="cd" * 32,
                size=12345,
            ),
        )
        for i in range(n)
    )
    python = kinds["PythonEnv"](implementation="cpython", version="3.11.7", kind="venv", packages=packages)
    meta = kinds["Meta"](generator="envsnap 0.1.0", created="2026-11-30T08:00:00Z")
    return kinds["Snapshot"](envsnap=meta, python=python)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--msgspec-path", type=Path, help="a folder msgspec is installed in")
    parser.add_argument("--packages", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    if args.msgspec_path:
        sys.path.insert(0, str(args.msgspec_path))
    try:
        import msgspec
    except ImportError:
        print("msgspec is not importable: pass --msgspec-path DIR (pip install --target DIR msgspec)")
        return 2
    from envsnap import lockfile

    classes = model_classes()
    define_structs = struct_specs(msgspec)
    print(f"msgspec {msgspec.__version__}; {len(classes)} model classes; best of {args.runs}")
    dc_define = best_ms(define_dataclasses, args.runs)
    ms_define = best_ms(define_structs, args.runs)
    print(
        f"define the classes: dataclasses (exec envsnap/model.py) {dc_define:.1f} ms, msgspec.defstruct "
        f"{ms_define:.1f} ms ({dc_define / ms_define:.0f}x)"
    )
    structs = {cls.__name__: s for cls, s in define_structs().items()}
    dataclass_kinds = {cls.__name__: cls for cls in classes}
    n = args.packages
    dc_build = best_ms(lambda: make_lock(n, dataclass_kinds), args.runs)
    ms_build = best_ms(lambda: make_lock(n, structs), args.runs)
    print(
        f"build a lock of {n} packages: dataclasses {dc_build:.1f} ms, Structs {ms_build:.1f} ms "
        f"({dc_build / ms_build:.1f}x)"
    )
    lock, struct_lock = make_lock(n, dataclass_kinds), make_lock(n, structs)
    dc_out = best_ms(lambda: lockfile.to_dict(lock), args.runs)
    ms_out = best_ms(lambda: msgspec.to_builtins(struct_lock), args.runs)
    print(
        f"to builtins: lockfile.to_dict {dc_out:.1f} ms, msgspec.to_builtins {ms_out:.1f} ms ({dc_out / ms_out:.1f}x)"
    )
    document = lockfile.to_dict(lock)
    struct_document = msgspec.to_builtins(struct_lock)
    dc_in = best_ms(lambda: lockfile.from_document(document, check_digest=False), args.runs)
    ms_in = best_ms(lambda: msgspec.convert(struct_document, structs["Snapshot"]), args.runs)
    print(
        f"back from builtins: lockfile.from_document (types and every grammar rule) {dc_in:.1f} ms, "
        f"msgspec.convert (types only) {ms_in:.1f} ms ({dc_in / ms_in:.1f}x)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
