"""Properties over generated inputs: any name spelling and version round-trips through pylock; any text
is safe once escaped for LaTeX."""

from __future__ import annotations

import dataclasses

from export_samples import latex_syntax_problems
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from packaging.pylock import Pylock
from packaging.utils import canonicalize_name
from packaging.version import Version

from envsnap import grammar, lockfile, sinks
from envsnap._toml import tomllib
from envsnap.export import pylock
from envsnap.importers import pylock as pylock_import
from envsnap.importers.interface import ImportOptions
from envsnap.model import Artifact, PythonPackage, Snapshot

# Distribution names as people spell them: letters, digits and runs of - _ . between them.
names = st.from_regex(r"\A[A-Za-z0-9]([A-Za-z0-9]|[-_.][A-Za-z0-9]){0,12}\Z", fullmatch=True)
versions = st.builds(
    lambda release, local: ".".join(map(str, release)) + (f"+{local}" if local else ""),
    st.lists(st.integers(0, 300), min_size=1, max_size=4),
    st.one_of(st.none(), st.from_regex(r"\A[a-z0-9]{1,6}(\.[a-z0-9]{1,4})?\Z", fullmatch=True)),
)


def _package(name: str, version: str, n: int) -> PythonPackage:
    canonical = canonicalize_name(name)
    filename = f"{canonical.replace('-', '_')}-{Version(version)}-py3-none-any.whl"
    return PythonPackage(
        name=canonical,
        version=str(Version(version)),
        metadata_name=name if name != canonical else "",
        wheel_tags=("py3-none-any",),  # what a capture of that wheel records, and the import reads from its name
        artifact=Artifact(
            filename=filename,
            url=f"https://files.example.org/{filename.replace('+', '%2B')}",
            sha256=f"{n:064x}",
            index="https://pypi.org/simple",
        ),
    )


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.dictionaries(names, versions, min_size=1, max_size=6))
def test_any_names_and_versions_roundtrip_through_pylock(rich: Snapshot, spec: dict[str, str]) -> None:
    packages = {}
    for n, (name, version) in enumerate(spec.items()):
        packages.setdefault(canonicalize_name(name), _package(name, version, n))
    snap = lockfile.seal(
        dataclasses.replace(
            rich,
            python=dataclasses.replace(rich.python, packages=tuple(sorted(packages.values(), key=lambda p: p.name))),
        )
    )
    text = pylock.dumps(snap)
    Pylock.from_dict(tomllib.loads(text)).validate()
    back = pylock_import.read(text, "pylock.toml", ImportOptions())
    assert back.python.packages == snap.python.packages


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=40))
@example("\u2028")  # a line separator (found by hypothesis): it ended the row for a reader of the file
@example("a\u2029b")
@example("Xeon\u202e\u2066\u2067\u2068\u2069\u202a\u202b\u202c\u202d\u200e\u200f\u061c")
def test_any_text_is_safe_in_latex(text: str) -> None:
    # Control characters included: a newline must not end the row (the sink shows them as "?").
    for cells in (f"{sinks.tex_text(text)} & {sinks.tex_code(text)}", f"x & {sinks.tex_breakable(text)}"):
        assert "\n" not in cells
        assert not grammar.has_bidi(cells), cells  # a viewer would show the row reordered
        row = f"\\begin{{tabular}}{{ll}}\n{cells} \\\\\n\\end{{tabular}}\n"
        assert latex_syntax_problems(row) == []


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=40))
@example("Debian \u202egnu")
@example("a\u2028b\u2029c")
@example("\u2066\u2067\u2068\u2069\u202a\u202b\u202c\u202d\u200e\u200f\u061c")
def test_any_text_is_one_line_in_order_in_markdown(text: str) -> None:
    # A bidirectional formatting character reorders what a viewer shows; U+2028/U+2029 break the line for an
    # editor: both are shown as U+FFFD, as the terminal shows them.
    for shown in (sinks.md_text(text), sinks.md_code(text)):
        assert len(shown.splitlines()) <= 1, shown
        assert not grammar.has_bidi(shown) and not grammar.has_control(shown), shown
