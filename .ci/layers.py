"""The layer contract of envsnap (docs/design.md opens with the picture), checked by reading every import.

Standard library only: it parses each module under the package with ``ast`` and follows every import it finds,
at module level, inside functions and under ``if TYPE_CHECKING:`` alike (a type-only import still ties the
modules together), ``from . import x`` included. It prints one line per violation and exits 1, or prints OK:

- a cycle: modules that import each other, directly or through others;
- an upward import: a module importing from a layer above its own, or from a package of its own layer that
  the table does not let it use (export and importers stand side by side and use neither the other);
- a private import across packages: a ``_module`` or a ``_name`` taken from outside the package that owns it.
  The core's own helper modules (``envsnap/_fs.py``, ``_runner.py`` ...) are the exception: the core is the
  ground every layer stands on, so its modules are everyone's, while their ``_names`` stay the core's.

Imports made by name at run time (``importlib.import_module("envsnap.x")``, the plug-in registries' entry
strings) are not seen; they must follow the same table.

Usage: ``python3 .ci/layers.py [PACKAGE_DIR]`` (default: ``envsnap`` beside this folder).
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

# The layers, bottom to top: a module may import from its own layer's package and from any package of a lower
# layer. Each name is a sub-package of envsnap; "" is the core (the top-level modules); "api" is the top:
# envsnap/__init__.py, envsnap/api.py, envsnap/__main__.py and the cli package. Packages that share a layer do
# not import each other.
LAYERS: tuple[tuple[str, ...], ...] = (
    ("",),  # core: model, lockfile, errors, grammar, fs, runner, privacy, progress ...
    ("probes",),  # capture
    ("compare",),  # verify, diff, conda prefix comparison
    ("artifacts",),  # pin, fetch, cache, bundle, repack
    ("dockerfile",),  # the pure Dockerfile spec
    ("compat",),  # the pure rules
    ("export", "importers"),
    ("rebuild",),
    ("fleet", "runs"),
    ("paper",),  # the research artifact: crate, citation, audit (it reads run records)
    ("api",),  # envsnap/__init__.py, api.py, __main__.py, cli/
)
TOP_MODULES = ("__init__", "api", "__main__")  # top-level modules of the "api" layer, not the core


def area_of(module: str, packages: set[str]) -> str:
    """The table's name for a module's area: "" for the core, "api" for the top, else its sub-package."""
    parts = module.split(".")[1:]  # without the root package
    if not parts:
        return "api"  # the package's __init__
    if len(parts) == 1 and module not in packages:
        return "api" if parts[0] in TOP_MODULES else ""
    return "api" if parts[0] == "cli" else parts[0]


def rank(area: str) -> int:
    for index, names in enumerate(LAYERS):
        if area in names:
            return index
    return -1


@dataclass(frozen=True)
class Import:
    source: str  # the importing module
    target: str  # the imported module
    name: str | None  # the name taken from it (``from target import name``), None for a plain import
    line: int


class Tree:
    """The modules of one package directory and the imports each makes."""

    def __init__(self, package_dir: Path) -> None:
        self.dir = package_dir
        self.root = package_dir.name
        self.modules: dict[str, Path] = {}
        self.packages: set[str] = set()
        for path in sorted(package_dir.rglob("*.py")):
            relative = path.relative_to(package_dir.parent).with_suffix("")
            parts = list(relative.parts)
            if parts[-1] == "__init__":
                parts.pop()
                self.packages.add(".".join(parts))
            self.modules[".".join(parts)] = path

    def imports(self) -> Iterator[Import]:
        for module, path in self.modules.items():
            tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
            package = module if module in self.packages else module.rpartition(".")[0]
            for node in ast.walk(tree):
                if isinstance(node, ast.Import):
                    for alias in node.names:
                        target = self.known(alias.name)
                        if target:
                            yield Import(module, target, None, node.lineno)
                elif isinstance(node, ast.ImportFrom):
                    base = self.absolute(node, package)
                    if base is None or not (base == self.root or base.startswith(self.root + ".")):
                        continue
                    for alias in node.names:
                        submodule = f"{base}.{alias.name}"
                        if submodule in self.modules:  # from package import module
                            yield Import(module, submodule, None, node.lineno)
                        else:
                            target = self.known(base)
                            if target:
                                yield Import(module, target, alias.name, node.lineno)

    def absolute(self, node: ast.ImportFrom, package: str) -> str | None:
        if node.level == 0:
            return node.module
        parts = package.split(".")
        if node.level - 1 > len(parts) - 1:
            return None
        base = parts[: len(parts) - (node.level - 1)]
        return ".".join(base + ([node.module] if node.module else []))

    def known(self, name: str) -> str | None:
        """The longest prefix of a dotted name that is one of the tree's modules."""
        parts = name.split(".")
        while parts:
            candidate = ".".join(parts)
            if candidate in self.modules:
                return candidate
            parts.pop()
        return None


def owner(module: str, packages: set[str]) -> str:
    """The package a module belongs to (a package's __init__ belongs to the package itself)."""
    return module if module in packages else module.rpartition(".")[0]


def within(module: str, package: str, packages: set[str]) -> bool:
    own = owner(module, packages)
    return own == package or own.startswith(package + ".")


def is_private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def check(package_dir: Path) -> list[str]:
    tree = Tree(package_dir)
    root = tree.root
    problems: list[str] = []
    graph: dict[str, set[str]] = {module: set() for module in tree.modules}
    seen: set[tuple[str, str, str | None]] = set()
    for imp in tree.imports():
        if imp.target == imp.source:
            continue
        graph[imp.source].add(imp.target)
        key = (imp.source, imp.target, imp.name)
        if key in seen:
            continue
        seen.add(key)
        where = f"{tree.modules[imp.source].relative_to(package_dir.parent)}:{imp.line}"
        shown = imp.target + (f".{imp.name}" if imp.name else "")
        source_area, target_area = area_of(imp.source, tree.packages), area_of(imp.target, tree.packages)
        if source_area != target_area:
            source_rank, target_rank = rank(source_area), rank(target_area)
            if source_rank < 0:
                problems.append(f"{where}: {imp.source} is in no layer (add {source_area!r} to LAYERS)")
            elif target_rank < 0:
                problems.append(f"{where}: {imp.target} is in no layer (add {target_area!r} to LAYERS)")
            elif target_rank >= source_rank:
                how = "a higher layer" if target_rank > source_rank else "a package beside it"
                problems.append(
                    f"{where}: upward import: {imp.source} ({source_area or 'core'}) imports {shown} "
                    f"({target_area or 'core'}, {how})"
                )
        # A private module: every part below the package that owns it counts.
        target_owner = owner(imp.target, tree.packages)
        private_parts = [p for p in imp.target.split(".")[1:] if is_private(p)]
        if private_parts:
            first = imp.target.split(".").index(private_parts[0])
            home = ".".join(imp.target.split(".")[:first])
            if home != root and not within(imp.source, home, tree.packages):
                problems.append(f"{where}: private import: {imp.source} imports {shown} from outside {home}")
                continue
        # A private name: its module's own package (and, below the core, that package's sub-packages) only.
        same_package = owner(imp.source, tree.packages) == target_owner
        below = target_owner != root and within(imp.source, target_owner, tree.packages)
        if imp.name and is_private(imp.name) and not (same_package or below):
            problems.append(f"{where}: private import: {imp.source} imports {shown} from outside {target_owner}")
    for cycle in cycles(graph):
        problems.append("cycle: " + " -> ".join([*cycle, cycle[0]]))
    return problems


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan, iterative), each as one cycle path."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = 0
    for start in sorted(graph):
        if start in index:
            continue
        work: list[tuple[str, Iterator[str]]] = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            node, successors = work[-1]
            advanced = False
            for nxt in successors:
                if nxt not in index:
                    index[nxt] = low[nxt] = counter
                    counter += 1
                    stack.append(nxt)
                    on_stack.add(nxt)
                    work.append((nxt, iter(sorted(graph[nxt]))))
                    advanced = True
                    break
                if nxt in on_stack:
                    low[node] = min(low[node], index[nxt])
            if advanced:
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(path_through(sorted(component), graph))
    return found


def path_through(component: list[str], graph: dict[str, set[str]]) -> list[str]:
    """One cycle inside a strongly connected component, from its first module back to it (breadth first)."""
    members = set(component)
    start = component[0]
    previous: dict[str, str] = {}
    queue = [start]
    while queue:
        node = queue.pop(0)
        for nxt in sorted(graph[node] & members):
            if nxt == start:
                path = [node]
                while path[-1] != start:
                    path.append(previous[path[-1]])
                return list(reversed(path))
            if nxt not in previous:
                previous[nxt] = node
                queue.append(nxt)
    return component


def main(argv: list[str]) -> int:
    package_dir = Path(argv[1]) if len(argv) > 1 else Path(__file__).resolve().parent.parent / "envsnap"
    problems = check(package_dir)
    for problem in problems:
        print(problem)
    if problems:
        return 1
    print(f"OK: the imports of {package_dir.name}/ follow the layers")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
