"""What ``envsnap verify`` found: its report and the differences in it, most consequential first.

Apart from the comparison (``verify.py``) so that a report kept by the verify memo (``cli/verify.py``) is read
and printed without loading the model, the lock loader or the probes.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence
from typing import Any

from .._frozen import frozen
from .._lazyre import LazyPattern
from ..report import VERIFY_WORDS, Entry, Report, Severity, severity_of

TYPE_CHECKING = False  # not typing's: a report kept by the verify memo is read without the model
if TYPE_CHECKING:
    import re

    from ..model import PythonPackage

# verify's words for the shared severity scale (envsnap.report.VERIFY_WORDS), most consequential first.
MISMATCH = VERIFY_WORDS[Severity.FAILURE]
WARNING = VERIFY_WORDS[Severity.WARNING]
INFO = VERIFY_WORDS[Severity.INFO]
SEVERITIES = (MISMATCH, WARNING, INFO)
# Most consequential first within a severity.
AREAS = ("python", "conda", "interpreter", "platform", "libc", "gpu", "cuda", "system", "environment", "hardware")


def source_text(pkg: PythonPackage) -> str:
    """Where a Python package comes from, as verify and diff name it: ``index``, a VCS checkout at its commit, a
    folder (editable or not) or an archive by its URL. A monorepo's folder is part of it: another subdirectory at
    one commit is another package, and a folder's subdirectory is joined to it (one folder either way: a capture's
    ``file:///mono`` with ``pkgs/x``, an import's ``file:///mono/pkgs/x``), the name percent-encoded as a URL's path
    is (``my pkg``, ``a%20b``: ``my%20pkg``, ``a%2520b``), so that it reads back as named."""
    s = pkg.source
    if s.kind == "vcs":
        return f"{s.vcs}+{s.url}@{s.commit_id}" + (f"#subdirectory={s.subdirectory}" if s.subdirectory else "")
    if s.kind == "directory":
        folder = subfolder_url(s.url, s.subdirectory)
        return ("editable " if s.editable else "") + folder
    if s.kind == "archive":
        return s.url
    return "index"


def subfolder_url(url: str, subdirectory: str) -> str:
    """The URL of the folder ``subdirectory`` (a name, as direct_url.json writes it) of the folder ``url``."""
    from urllib.parse import quote

    return f"{url.rstrip('/')}/{quote(subdirectory)}" if subdirectory else url


# What verify says of an editable checkout's source whose tracked files were edited (``verify._checkouts_read``).
UNCOMMITTED = " with uncommitted changes"
_VCS_FILE = LazyPattern(r"(?s)(?P<vcs>git|hg|bzr|svn)\+(?P<url>file:[^@#]*)(?P<rest>(?:@[^#]*)?(?:#.*)?)")


def source_shown(text: str) -> str:
    """A source as ``source_text`` writes it (or verify's ``UNCOMMITTED`` after it), as a message shows it: a local
    folder, archive or repository by its decoded path, one shell word (``sinks.place_shown``): its ``file:`` URL read
    ``my%20project``, ``caf%C3%A9`` for the folder the user knows as ``my project``, ``café``, and a control character
    a URL hid in its escapes is shown escaped. Anything else (``index``, a remote URL, a commit) as it is. For the
    terminal only: reports keep and compare ``source_text`` (a run record's drift, the JSON)."""
    from ..sinks import place_shown

    if text.endswith(UNCOMMITTED):
        return source_shown(text[: -len(UNCOMMITTED)]) + UNCOMMITTED
    if text.startswith("editable "):
        return "editable " + source_shown(text[len("editable ") :])
    vcs = _VCS_FILE.fullmatch(text)
    if vcs is not None:  # a repository of this machine, at a commit, a folder of it perhaps
        return f"{vcs['vcs']}+{place_shown(vcs['url'])}{vcs['rest']}"
    if text.startswith("file:"):
        url, sep, fragment = text.partition("#")  # an archive's hash, as the lock records it
        return place_shown(url) + sep + fragment
    return text


# A local source a sentence names (a note, a run record's drift line): a lock's URL holds no white space
# (``grammar.is_lock_url``), so it ends at one, or before a ``:``, ``,`` or ``;`` and an unmatched ``)`` the sentence
# puts after it. Only a word of its own, a URL's ``file:/`` with its path.
_PLACE = LazyPattern(r"(?<![^\s(])(?:(?:git|hg|bzr|svn)\+)?file:/\S*")


def places_shown(text: str) -> str:
    """``text`` with each local source it names (``its editable folder file:///home/me/my%20project is gone``) as
    ``source_shown`` shows it, by its decoded path, one shell word. For the terminal only: a note and a run record's
    drift keep the URL, which is what they compare."""

    def one(found: re.Match[str]) -> str:
        place = found[0]
        end = len(place)
        while end and (
            place[end - 1] in ":,;" or (place[end - 1] == ")" and place.count(")", 0, end) > place.count("(", 0, end))
        ):
            end -= 1
        return source_shown(place[:end]) + place[end:]

    return _PLACE.sub(one, text)


# Where each note verify makes of a ``.pth`` folder (``compare.verify``) names a path, in named groups in the order
# they stand: the folder added (``probes.python.pth_folder_said``), gone, or its modules changed (the first file
# changed named) or not checked. A path holds any character but a line break: each ends at the words after it.
_PTH_NOTES = (
    LazyPattern(r"(?P<pth>.+?\.pth) puts (?P<folder>.+) on sys\.path, and no distribution is installed "),
    LazyPattern(
        r"the lock's environment had (?P<folder>.+) on sys\.path \(from (?P<pth>.+?\.pth)\), and no \.pth file here "
    ),
    LazyPattern(
        r"the modules in (?P<folder>.+) \(from (?P<pth>.+?\.pth)\) differ from the capture's: \d+ module files? "
        r"changed, the first (?P<file>.+) \((?:added|removed|modified)\)$"
    ),
    LazyPattern(r"the modules in (?P<folder>.+) \(from (?P<pth>.+?\.pth)\) (?:differ from|are not checked)"),
)


def pth_note_shown(note: str) -> str:
    """A verify note of a ``.pth`` folder (added since the capture, gone, its modules changed or not checked) as the
    terminal shows it: the ``.pth`` file, its folder and a module file named each one shell word, by the rule
    capture's warnings are shown by (``sinks.paths_shown``, as ``probes.python.warning_shown``), so the paths capture
    prints quoted read the same in verify. The report (``--json``, a run record) keeps the note as written; any other
    text is shown as it is. Here, not beside capture's, so that a verify the memo answers loads no probe. For a run
    record's drift alone, which keeps no ``Difference.places``: verify shows its own notes from those."""
    from ..sinks import paths_shown

    return paths_shown(_PTH_NOTES, note)


# A run's drift line (``runs.assemble.findings``): ``SEVERITY: AREA: `` and a difference's ``describe``, which for a
# ``.pth`` folder's note is ``.pth: NOTE`` (it has no expected or actual side).
_PTH_DRIFT = LazyPattern(r"(?P<head>[a-z]+: python: \.pth: )(?P<note>.*)")


def drift_line_shown(line: str) -> str:
    """A run's drift line, as its record keeps it (``SEVERITY: AREA: `` and ``Difference.describe``), as verify prints
    the difference (``Difference.shown``): the paths of a ``.pth`` folder's note each one shell word
    (``pth_note_shown``), else a local source by its decoded path (``places_shown``). ``run --lock`` and ``rerun``
    print their drift by it; the record keeps the line as written, which rerun compares."""
    found = _PTH_DRIFT.fullmatch(line)
    if found is not None:
        return found["head"] + pth_note_shown(found["note"])
    return places_shown(line)


def not_recorded(unknown: Iterable[str], path: str) -> bool:
    """Whether a lock cannot know its field at the dotted ``path``: its ``envsnap.unknown`` (what an imported
    format does not say) names that field or a table above it."""
    names = set(unknown)
    parts = path.split(".")
    return any(".".join(parts[:i]) in names for i in range(1, len(parts) + 1))


# The kinds of place a note names (``Difference.places``): a ``.pth`` file, a folder (the one it puts on
# ``sys.path``, a ``PYTHONPATH`` folder holding distributions), a module file of a ``.pth`` folder (its path there),
# each shown as one shell word (``sinks.path_shown``); a local source by its URL (an editable folder gone), shown as
# ``source_shown`` shows it (a ``file:`` one by its decoded path).
PLACE_KINDS = ("pth", "folder", "file", "url")


@frozen
class Place:
    """A place a difference's note names, as the note writes it (a path, or a source's URL): the display shows it
    from here (``Difference.shown``), never by reading the note's sentence again."""

    kind: str  # one of PLACE_KINDS
    path: str

    def shown(self) -> str:
        from ..sinks import path_shown

        return source_shown(self.path) if self.kind == "url" else path_shown(self.path)


def places_in(note: str, places: Iterable[Place]) -> str:
    """``note`` with each of ``places`` shown (``Place.shown``) where it stands, in their order: each is found after
    the one before, so that a place named twice, or inside another's text, is shown where the note writes it."""
    out, at = [], 0
    for place in places:
        found = note.find(place.path, at) if place.path else -1
        if found < 0:
            continue
        out += [note[at:found], place.shown()]
        at = found + len(place.path)
    return "".join([*out, note[at:]])


@frozen
class Difference(Entry):
    severity: str  # mismatch | warning | info
    area: str  # one of AREAS
    subject: str  # a package name, "version", "driver", ...
    what: str  # the kind of difference: missing | extra | version | source | wheel_tags | record_digest | ...
    expected: str = ""  # in the lock
    actual: str = ""  # in the target
    note: str = ""
    # A root cause this difference follows from ("python version 3.12.1 -> 3.11.7"), "" when it is one itself
    # or stands alone: a package rebuilt for another interpreter has other wheel tags and files.
    cause: str = ""
    # What to run to make the environment the locked one again (a shell command, its values quoted): "" when
    # verify knows none. Printed on a line of its own, apart from ``describe`` (a run record's drift compares those).
    remedy: str = ""
    # The places its note names (a ``.pth`` file, its folder, a local source), as the note writes them: what the
    # terminal shows each by (``shown``), and ``--json``'s ``places``. Empty where the note names none.
    places: tuple[Place, ...] = ()

    def describe(self) -> str:
        if self.what == "missing":
            text = f"{self.subject} {self.expected}: in the lock, not installed"
        elif self.what == "extra":
            text = f"{self.subject} {self.actual}: installed, not in the lock"
        elif self.what == "requirement":
            text = f"{self.subject} requires {self.expected}, but {self.actual}"
        elif not self.expected and not self.actual and self.note:
            return f"{self.subject}: {self.note}"
        else:
            text = f"{self.subject}: {self.what} {self.expected or '(none)'} -> {self.actual or '(none)'}"
        notes = [n for n in (self.note, f"follows from {self.cause}" if self.cause else "") if n]
        return f"{text} ({'; '.join(notes)})" if notes else text

    def shown(self) -> str:
        """``describe`` as verify prints it: a source, and a local one its note names (an editable folder gone), by
        its decoded path (``source_shown``); the places its note names each as ``places`` shows it (a ``.pth``
        folder's paths one shell word each, as capture prints them), else a local source its note names by its
        decoded path (``places_shown``). ``describe`` stays what a run record keeps
        and compares (``runs.assemble.findings``)."""
        expected, actual = self.expected, self.actual
        if self.what == "source":
            expected, actual = source_shown(expected), source_shown(actual)
        if self.places:
            note = places_in(self.note, self.places)
        elif self.area == "python" and self.subject == ".pth":  # a run record's finding, which keeps no places
            note = pth_note_shown(self.note)
        else:
            note = places_shown(self.note)
        return dataclasses.replace(self, expected=expected, actual=actual, note=note).describe()

    @property
    def level(self) -> Severity:
        return severity_of(self.severity)

    @property
    def root_cause(self) -> bool:
        """A difference others follow from: the interpreter's version, ABI, implementation or platform, or the
        machine (``verify._another_machine``), which the interpreter's platform follows from in its turn."""
        return self.severity == MISMATCH and not self.cause and self.causal

    @property
    def causal(self) -> bool:
        """Of the kind others follow from (the interpreter, the machine), a root cause or a link of a chain: the
        interpreter's platform tag follows from the machine, and the wheels built for it from both."""
        return self.area == "interpreter" or (self.area == "platform" and self.what == "machine")


@frozen
class VerifyReport(Report):
    lock: str  # the lock's content digest
    target: str  # the interpreter that was verified
    packages_checked: int
    differences: tuple[Difference, ...]
    # The lock's conda packages compared with the target's conda records: 0 where none were (no ``[conda]``
    # table, or a target that is no conda environment). The verdict line names the conda layer where it is > 0.
    conda_checked: int = 0

    def by_severity(self, severity: str) -> list[Difference]:
        return [d for d in self.differences if d.severity == severity]

    @property
    def consequences(self) -> list[Difference]:
        return [d for d in self.differences if d.cause]

    @property
    def python_mismatch(self) -> bool:
        return self.worst() is Severity.FAILURE

    def entries(self) -> Sequence[Difference]:
        return self.differences

    def json_extra(self) -> dict[str, Any]:
        return {"identical": self.identical}

    def to_dict(self) -> dict[str, Any]:
        out = super().to_dict()
        del out["conda_checked"]  # for the verdict line: the JSON's keys stay those docs/cli.md lists
        return out

    @property
    def identical(self) -> bool:
        """The Python layer is the locked one (warnings and info about the host may remain)."""
        return not self.python_mismatch


def ordered(diffs: Iterable[Difference]) -> tuple[Difference, ...]:
    """Most consequential first: by severity; within one, root causes (an interpreter change), then the
    differences that stand alone, then those that follow from a root cause, the links of the chain (the
    interpreter's platform tag, which follows from the machine) before the rest; then by area and subject."""
    return tuple(
        sorted(
            diffs,
            key=lambda d: (
                SEVERITIES.index(d.severity),
                0 if d.root_cause else 1 if not d.cause else 2 if d.causal else 3,
                AREAS.index(d.area),
                d.subject,
                d.what,
            ),
        )
    )


_DIFFERENCE_FIELDS = ("severity", "area", "subject", "what", "expected", "actual", "note", "cause", "remedy")


def plain_report(report: VerifyReport) -> dict[str, Any]:
    """``report`` as plain JSON data, every field of every difference (``report_of`` reads it back)."""
    return {
        "lock": report.lock,
        "target": report.target,
        "packages_checked": report.packages_checked,
        "conda_checked": report.conda_checked,
        "differences": [
            [*(getattr(d, name) for name in _DIFFERENCE_FIELDS), [[p.kind, p.path] for p in d.places]]
            for d in report.differences
        ],
    }


def report_of(data: Any) -> VerifyReport:
    """The report ``plain_report`` wrote; TypeError or ValueError when ``data`` is not one."""
    if not isinstance(data, dict) or not isinstance(data["differences"], list):
        raise TypeError("not a report")
    differences = []
    for row in data["differences"]:
        # A row of a memo written before ``places`` (one field fewer) is no report: verify in full.
        if not (
            isinstance(row, list)
            and len(row) == len(_DIFFERENCE_FIELDS) + 1
            and all(type(v) is str for v in row[:-1])
            and isinstance(row[-1], list)
            and all(isinstance(p, list) and len(p) == 2 and p[0] in PLACE_KINDS and type(p[1]) is str for p in row[-1])
        ):
            raise TypeError("not a difference")
        fields: dict[str, Any] = dict(zip(_DIFFERENCE_FIELDS, row[:-1], strict=True))
        differences.append(Difference(**fields, places=tuple(Place(kind, path) for kind, path in row[-1])))
    lock, target, checked = data["lock"], data["target"], data["packages_checked"]
    conda = data.get("conda_checked", 0)
    if type(lock) is not str or type(target) is not str or type(checked) is not int or type(conda) is not int:
        raise TypeError("not a report")
    return VerifyReport(lock, target, checked, tuple(differences), conda)
