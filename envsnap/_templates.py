"""Jinja2 templates, read as the package's resources ``envsnap/templates/`` with ``importlib.resources``: the
same code for an installed wheel, a zip and a checkout. In the repository ``envsnap/templates`` is a committed
link to the top-level ``templates/`` folder; the wheel build follows it (docs/design.md, "Templates").

Escaping is automatic and per format. Jinja's own autoescape knows HTML only, so each format gets an
environment whose ``finalize`` (run on every ``{{ ... }}``) escapes for that format by default (Markdown,
LaTeX) or refuses what could end a line (Dockerfile, YAML, line-based text). The format filters below
(``dockerfile_label``, ``shell_word``, ``md_code``, ...) escape for one position and mark their result as
done (``Escaped``), so ``finalize`` passes it on unchanged. ``|safe`` marks nothing here: a value reaches
the output either through a format filter or through the format's default.

A template is compiled once per envsnap, not once per run: Jinja's bytecode of each template is kept in the
user's cache folder (``$XDG_CACHE_HOME/envsnap/templates``; compiling the README and the two appendices was a
tenth of a warm ``bundle``). The folder is the user's own and private (``_defaults.private_cache_dir``: what it
holds is run as code, so a folder another user may write is not used at all); an entry is used only for the
same template text, envsnap, Jinja, Python and this module's settings, is rewritten when any of them differs,
and one that cannot be read or written is compiled from source as before. ``ENVSNAP_TEMPLATE_CACHE=0`` turns
it off; without a home (``_defaults.no_cache_root``: HOME empty or relative) the templates are compiled in memory.
"""

from __future__ import annotations

import contextlib
import glob
import hashlib
import os
import pickle
import time
from collections.abc import Callable
from functools import cache
from importlib.resources import files
from pathlib import Path

import jinja2
import jinja2.bccache

from . import sinks
from ._control import strip_terminal
from ._defaults import TEMPLATE_CACHE as TEMPLATE_CACHE
from ._defaults import private_cache_dir
from ._version import __version__

CACHE_ENV = "ENVSNAP_TEMPLATE_CACHE"
STALE_TMP_S = 600  # a half-written entry older than this was left by a killed run


class Escaped(str):
    """Text a format filter has already made safe for its position in the template."""


def _mark(function: Callable[..., str]) -> Callable[..., Escaped]:
    def filtered(value: object, *args: object) -> Escaped:
        return Escaped(function(str(value), *args))

    filtered.__name__ = function.__name__
    return filtered


FILTERS: dict[str, Callable[..., Escaped]] = {
    name: _mark(function)
    for name, function in {
        "dockerfile_from": sinks.dockerfile_from,
        "dockerfile_label": sinks.dockerfile_label,
        "shell_word": sinks.shell_word,
        "shell_single": sinks.shell_single,
        "shell_double": sinks.shell_double,
        "md_code": sinks.md_code,
        "md_cell_code": sinks.md_cell_code,
        "md_text": sinks.md_text,
        "md_fenced_line": sinks.md_fenced_line,
        "tex_code": sinks.tex_code,
        "tex_text": sinks.tex_text,
        "tex_breakable": sinks.tex_breakable,
        "tex_shell": sinks.tex_shell,
        "tex_shell_code": sinks.tex_shell_code,
        "one_line": sinks.one_line,
    }.items()
}

# A template's format, from its file name, and what an unfiltered value becomes there.
_DEFAULTS: dict[str, Callable[[object], str]] = {
    "dockerfile": sinks.dockerfile_line,
    "markdown": sinks.md_text,
    "latex": sinks.tex_text,
    "text": sinks.one_line,  # YAML (values go through tojson) and line-based files: comments, fields
}


def template_format(name: str) -> str:
    if name.rsplit("/", 1)[-1].startswith("Dockerfile"):
        return "dockerfile"
    if name.endswith(".md.j2"):
        return "markdown"
    if name.endswith(".tex.j2"):
        return "latex"
    return "text"


class _ResourceLoader(jinja2.BaseLoader):
    """Templates by their ``/``-separated name below the package resource ``templates``."""

    def get_source(self, environment: jinja2.Environment, template: str) -> tuple[str, str | None, Callable[[], bool]]:
        resource = files(__package__).joinpath("templates")
        for part in template.split("/"):
            if part in ("", ".", ".."):
                raise jinja2.TemplateNotFound(template)
            resource = resource.joinpath(part)
        try:
            text = resource.read_text(encoding="utf-8")
        except OSError:  # missing, a folder, or a link the installation lost
            raise jinja2.TemplateNotFound(template) from None
        return text, None, lambda: True  # shipped templates do not change while envsnap runs


class _BytecodeCache(jinja2.FileSystemBytecodeCache):
    """Compiled templates in a private folder, one file per template (``<format>-<digest of its name>``): the
    file is found by the template's name and used only when its recorded checksum, over ``salt`` and the
    template's text, is this one's (Jinja checks it, and the Python version in the file's header); otherwise
    the template is compiled and the file replaced (written beside and renamed, by Jinja). A cache never fails
    a render: an entry that cannot be read is a miss, a write that fails is skipped."""

    def __init__(self, folder: Path, fmt: str, salt: str):
        super().__init__(str(folder), f"{fmt}-%s.jinja")
        self.salt = salt

    def get_cache_key(self, name: str, filename: str | None = None) -> str:
        return hashlib.sha256(name.encode("utf-8", "surrogatepass")).hexdigest()[:32]

    def get_source_checksum(self, source: str) -> str:
        return hashlib.sha256(f"{self.salt}\0{source}".encode("utf-8", "surrogatepass")).hexdigest()

    def load_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        try:
            super().load_bytecode(bucket)
        except (OSError, EOFError, ValueError, TypeError, pickle.UnpicklingError):
            bucket.reset()

    def dump_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        with contextlib.suppress(OSError):
            super().dump_bytecode(bucket)
        # Jinja writes an entry beside it (``<entry><random>.tmp``) and renames it into place; a run killed in
        # between left that file for good. Written only on a miss, so the sweep costs a warm run nothing; one
        # younger than STALE_TMP_S may be another run's write in progress.
        entry = Path(self._get_cache_filename(bucket))
        with contextlib.suppress(OSError):
            for leftover in entry.parent.glob(glob.escape(entry.name) + "*.tmp"):
                with contextlib.suppress(OSError):
                    if time.time() - leftover.lstat().st_mtime > STALE_TMP_S:
                        leftover.unlink()


def _shape(env: jinja2.Environment) -> str:
    """The settings that change what a template compiles to (its syntax, whitespace control, autoescape,
    whether values pass ``finalize``, the extensions): part of every entry's checksum."""
    return repr(
        (
            env.block_start_string,
            env.block_end_string,
            env.variable_start_string,
            env.variable_end_string,
            env.comment_start_string,
            env.comment_end_string,
            env.line_statement_prefix,
            env.line_comment_prefix,
            env.trim_blocks,
            env.lstrip_blocks,
            env.newline_sequence,
            env.keep_trailing_newline,
            env.autoescape,
            env.optimized,
            env.finalize is not None,
            sorted(env.extensions),
        )
    )


def _bytecode_cache(fmt: str, env: jinja2.Environment) -> _BytecodeCache | None:
    if os.environ.get(CACHE_ENV, "").strip() == "0":
        return None
    folder = private_cache_dir(TEMPLATE_CACHE, create=True)
    if folder is None:
        return None
    return _BytecodeCache(folder, fmt, f"{__version__}|{jinja2.__version__}|{fmt}|{_shape(env)}")


@cache
def environment(fmt: str = "text") -> jinja2.Environment:
    default = _DEFAULTS[fmt]

    def finalize(value: object) -> object:
        if isinstance(value, Escaped) and fmt == "markdown":
            # Escaped for its place (a shell word in a code block), but still read by a person: a bidirectional
            # formatting character (a lock named ``\u202e...``) reordered the command shown, as no other value can.
            return Escaped(strip_terminal(value))
        if isinstance(value, Escaped) or (isinstance(value, (int, float)) and not isinstance(value, bool)):
            return value
        return default(value)

    env = jinja2.Environment(
        loader=_ResourceLoader(),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        autoescape=False,  # HTML-only; finalize above is the per-format autoescape
        finalize=finalize,
    )
    env.filters.update(FILTERS)
    env.bytecode_cache = _bytecode_cache(fmt, env)
    return env


def render(name: str, **context: object) -> str:
    return environment(template_format(name)).get_template(name).render(**context)
