"""The one output module of the command line: JSON to stdout, text lines and tables to stdout/stderr.
Commands print only through it (tests/test_output.py checks that no other module of ``envsnap.cli`` imports
rich or prints through a console of its own).

Whatever a command prints may hold lock data, which is untrusted (docs/security.md): the consoles here
never read a string as rich markup or emoji codes (``[link=...]`` stays text, ``x86_64[/]`` cannot crash),
and every string they render loses its control characters (ESC, OSC, CR, ...) and bidirectional formatting
characters (U+202E, U+2066, ...). A command that wants colour passes ``(text, style)`` parts to ``say`` or
``table``; the text of a part is never markup.
"""

from __future__ import annotations

import os
import sys

TYPE_CHECKING = False  # not typing's: it is not imported at start-up (envsnap/cli/__init__.py)
if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Sequence
    from typing import Any

    from rich.console import Console
    from rich.table import Table as Table  # re-exported: a command names the type of what it renders
    from rich.text import Text

# A piece of a line: text, or (text, rich style). The text is always data, never markup.
Part = str | tuple[str, str]


def line(value: object) -> str:
    """``value`` as one line of terminal text: every control character (newline included) made visible."""
    from .._control import strip_terminal  # not the grammar: its version parser and URL splitter

    return strip_terminal(str(value))


def lines(value: object) -> str:
    """Text of several lines (a plan, a Dockerfile): each line's control characters made visible."""
    return "\n".join(line(part) for part in str(value).split("\n"))


def text(value: object, style: str = "") -> Text:
    """A rich ``Text`` of ``value`` as one line, never parsed as markup."""
    from rich.text import Text

    return Text(line(value), style=style)


def _console(stderr: bool) -> Console:
    from rich.console import Console

    class SafeConsole(Console):
        def render_str(self, text: str, **kwargs: Any) -> Text:
            return super().render_str(lines(text), **kwargs)  # each line's control and bidi characters

        def on_broken_pipe(self) -> None:
            # rich's own exits 1 (and points stdout at /dev/null, whichever stream this is): a table to a pipe
            # whose reader had gone made ``check``'s 3 a 1. ``delivered`` handles it as for any other write.
            self.quiet = True
            raise BrokenPipeError

    return SafeConsole(stderr=stderr, highlight=False, soft_wrap=True, markup=False, emoji=False)


# rich is imported when something is printed, not at start-up: `capture -o -` and --json never pay for it.
def stdout() -> Console:
    return _console(stderr=False)


def stderr() -> Console:
    return _console(stderr=True)


def first_line(message: str, *, json_output: bool) -> None:
    """The line that names the environment a command works on: on stdout, or on stderr when --json owns stdout."""
    if json_output:
        write_lines(message)
    else:
        say(message, err=False)


def json_text(data: Any) -> str:
    """``data`` as indented JSON that is safe to show on a terminal (a report file is ``cat``-ed too)."""
    import json  # not at start-up: a command's --help loads this module

    from ..grammar import escape_unshown

    # json escapes C0 controls but not DEL, C1 (CSI 0x9b), the bidi formatting characters (reordering what a
    # terminal shows) or U+2028/U+2029 (a pager breaks the line there): escaped here too, the same JSON value.
    return escape_unshown(json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False)) + "\n"


def print_json(data: Any) -> None:
    text = json_text(data)
    delivered(sys.stdout, lambda: sys.stdout.write(text))


def delivered(stream: Any, write: Callable[[], object]) -> None:
    """``write()`` to ``stream``, whose reader may have gone (``envsnap verify --json | head -c1``, a CI step that
    stopped reading): then what is left to write there goes nowhere and the command goes on to end with its own
    exit status. A closed pipe ended every command with 0 before, a mismatch or an incompatible host included.
    The stream's descriptor is pointed at /dev/null, so that later writes and the flush at exit do not fail."""
    try:
        write()
    except BrokenPipeError:
        try:
            null = os.open(os.devnull, os.O_WRONLY)
            try:
                os.dup2(null, stream.fileno())
            finally:
                os.close(null)
        except (AttributeError, OSError, ValueError):  # no descriptor (a test's capture): nothing to redirect
            pass


def assemble(*parts: Part) -> Text:
    """One line of several pieces, each optionally styled (``("warning:", "yellow")``); no piece is markup."""
    from rich.text import Text

    return Text.assemble(*((line(p), "") if isinstance(p, str) else (line(p[0]), p[1]) for p in parts))


def say(*parts: Part, err: bool = True) -> None:
    """Print one line on stderr (``err=False``: stdout), built as ``assemble`` builds it."""
    if not _styled(sys.stderr if err else sys.stdout):
        # No terminal, no colour: the same text without a console (importing rich was a twentieth of verify's
        # time). write_lines makes the line terminal-safe as assemble does.
        write_lines("".join(p if isinstance(p, str) else p[0] for p in parts), err=err)
        return
    console = stderr() if err else stdout()
    delivered(console.file, lambda: console.print(assemble(*parts)))


def styled(*, err: bool = False) -> bool:
    """Whether what is printed on stdout (``err``: stderr) is coloured: a highlight shows there."""
    return _styled(sys.stderr if err else sys.stdout)


def _styled(stream: object) -> bool:
    """Would rich colour what goes to ``stream``: a terminal, or any stream when the environment forces colour."""
    if os.environ.get("FORCE_COLOR") or os.environ.get("TTY_COMPATIBLE"):
        return True
    isatty = getattr(stream, "isatty", None)
    try:
        return bool(isatty is not None and isatty())
    except ValueError:  # a closed stream
        return False


WHOLE_MAX = 40  # a longer cell of a ``whole`` column (a hostlist of scattered nodes) folds all the same


def table(
    rows: Iterable[Sequence[Part]],
    *,
    columns: Sequence[str],
    header: bool = True,
    title: str = "",
    caption: str = "",
    overflow: str = "ellipsis",
    first_column_style: str = "",
    whole: int = 0,
) -> Table:
    """A table of text cells, each a ``Part`` (never markup); ``title`` and ``caption`` are text too. ``whole``: the
    first so many columns keep the width of their widest cell (up to ``WHOLE_MAX`` characters) on a terminal too
    narrow for the table, the others folding instead (rich folded every column alike: a node list read "node[",
    "1-2,5", "-9]")."""
    from rich.table import Table as Table  # re-exported: a command names the type of what it renders

    out = Table(
        title=text(title) if title else None,
        title_justify="left",
        show_header=header,
        caption=text(caption) if caption else None,
        caption_justify="left",
    )
    cells = [[assemble(cell) for cell in row] for row in rows]
    for i, name in enumerate(columns):
        widest = max((len(name), *(row[i].cell_len for row in cells if i < len(row)))) if i < whole else None
        out.add_column(
            name,
            overflow=overflow,  # type: ignore[arg-type]
            style=first_column_style if i == 0 else "",
            min_width=min(widest, WHOLE_MAX) if widest else None,
            no_wrap=widest is not None and widest <= WHOLE_MAX,
        )
    for row in cells:
        out.add_row(*row)
    return out


def print_table(value: Table, *, err: bool = False, unfolded: bool = False) -> None:
    """``value`` on the terminal's width; ``unfolded``: off a terminal, at the table's own width (no cell folded
    to fit the 80 columns rich assumes for a pipe or a file)."""
    console = stderr() if err else stdout()
    one_line = unfolded and not console.is_terminal
    if one_line:
        natural = console.measure(value, options=console.options.update_width(1 << 16)).maximum
        console.width = max(console.width, natural)  # print's own width is capped at the console's
    # The title (``envsnap lock: PATH``, a path from the command line or a lock) is printed above the table, folded
    # as its cells are to the console's width, or on one line where they are: rich left it to the console's
    # soft wrap, which never breaks a line, and it ran past the edge of a narrow terminal.
    title, value.title = value.title, None
    heading = None
    if title is not None:
        from rich.text import Text

        heading = title.copy() if isinstance(title, Text) else text(title)
        heading.stylize("table.title")

    def write() -> None:
        if heading is None:
            pass
        elif one_line:
            console.print(heading)  # the console's soft wrap: never broken, never cut
        else:  # print's own options: it joins what it prints into a Text of its own, without the heading's
            console.print(heading, no_wrap=False, overflow="fold")
        console.print(value)

    try:
        delivered(console.file, write)
    finally:
        value.title = title


def write_lines(*messages: object, err: bool = True) -> None:
    """Plain lines without rich (capture's summary and first line cost no rich import), each one line of
    text: control and bidirectional characters made visible."""
    stream = sys.stderr if err else sys.stdout
    text = "\n".join(map(str, messages))
    # Most text has nothing to make visible: checked at once (diff prints 5,000 lines), each line's newlines
    # counted and the rest of the text scanned as ``line`` would scan it. Else line by line.
    flat = text.replace("\n", " ")
    # ASCII text is printable exactly when it holds no control character (and it holds no bidi character): one
    # C loop over it, where ``line`` runs two regular expressions over the whole text.
    plain = flat.isascii() and flat.isprintable()
    if text.count("\n") != len(messages) - 1 or (not plain and line(flat) != flat):
        text = "\n".join(map(line, messages))

    def write() -> None:
        stream.write(text + "\n" if messages else "")
        stream.flush()

    delivered(stream, write)


def write_block(value: str) -> None:
    """Text of several lines (a plan) on stdout as it is laid out, each line's control characters made visible."""
    text = lines(value)
    delivered(sys.stdout, lambda: sys.stdout.write(text))


def write_document(document: str | bytes) -> None:
    """A file's content for ``-o -`` (the lock's TOML, an export): written as it is, the format escapes its
    own values."""

    def write() -> None:
        if isinstance(document, bytes):
            sys.stdout.buffer.write(document)
        else:
            sys.stdout.write(document)
        sys.stdout.flush()

    delivered(sys.stdout, write)


def progress(prefix: str = "", style: str = "") -> Lines:
    """A library ``progress`` callback: each line (paths, build output) on stderr as text, never markup; a
    transfer of known size (an image saved or loaded) as a bar on a terminal (``envsnap.progress.Meter``)."""
    return Lines(prefix, style)


class Lines:
    """The CLI's ``envsnap.progress.Meter``: lines on stderr, and a transient byte bar per transfer on a
    terminal, followed by one line with the size and time when the transfer ends.

    Off a terminal (a CI log, a pipe, the bench) each line is written as ``say`` writes it there: the same
    text, without rich (importing it and a console print per line were a third of a warm ``bundle``'s own
    work, one line per wheel)."""

    def __init__(self, prefix: str = "", style: str = ""):
        self.prefix, self.style = prefix, style
        self.console: Console | None = stderr() if _styled(sys.stderr) else None

    def __call__(self, message: str) -> None:
        console = self.console
        if console is None:
            write_lines(self.prefix + message)
        else:
            delivered(console.file, lambda: console.print(text(self.prefix + message, style=self.style)))

    def transfer(self, label: str, total: int) -> _Transfer:
        return _Transfer(self, label, total)


class _Transfer:
    def __init__(self, lines: Lines, label: str, total: int):
        import time

        self.lines, self.label, self.size, self.started = lines, label, 0, time.perf_counter()
        self._bar: Any = None
        if lines.console is not None and lines.console.is_terminal:
            from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TransferSpeedColumn

            self._bar = Progress(
                TextColumn("{task.description}", markup=False),
                BarColumn(),
                DownloadColumn(),
                TransferSpeedColumn(),
                console=lines.console,
                transient=True,
            )
            self._bar.start()
            self._task = self._bar.add_task(line(lines.prefix + label), total=total or None)

    def advance(self, size: int) -> None:
        self.size += size
        if self._bar is not None:
            self._bar.update(self._task, advance=size)

    def close(self, finished: bool) -> None:
        import time

        from ..progress import done_line

        if self._bar is not None:
            self._bar.stop()
            self._bar = None
        if finished:
            self.lines(done_line(self.label, self.size, time.perf_counter() - self.started))


class Bar:
    """A progress bar on stderr for work of a known count (nodes answering): shown on a terminal only, gone
    when it stops; each step's label is text, never markup."""

    def __init__(self, description: str):
        self.description = description
        self._progress: Any = None
        self._task: Any = None

    def start(self, total: int) -> None:
        if not sys.stderr.isatty():
            return  # nothing to show (a CI job, --json for a dashboard): rich is not even imported
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        self._progress = Progress(
            TextColumn("{task.description}", markup=False),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=stderr(),
            transient=True,
        )
        self._progress.start()
        self._task = self._progress.add_task(line(self.description), total=total)

    def advance(self, label: str = "") -> None:
        if self._progress is not None:
            self._progress.update(self._task, advance=1, description=line(label or self.description))

    def stop(self) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None


def bar(description: str) -> Bar:
    return Bar(description)
