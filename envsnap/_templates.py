"""Jinja2 templates, read as the package's resources ``envsnap/templates/`` with ``importlib.resources``: the
same code for an installed wheel, a zip and a checkout. In the repository ``envsnap/templates`` is a committed
link to the top-level ``templates/`` folder; the wheel build follows it (docs/design.md, "Templates").

Escaping is automatic and per format. Jinja's own autoescape knows HTML only, so each format gets an
environment whose ``finalize`` (run on every ``{{ ... }}``) escapes for that format by default (Markdown,
LaTeX) or refuses what could end a line (Dockerfile, YAML, line-based text). The format filters below
(``dockerfile_label``, ``shell_word``, ``md_code``, ...) escape for one position and mark their result as
done (``Escaped``), so ``finalize`` passes it on unchanged. ``|safe`` marks nothing here: a value reaches
the output either through a format filter or through the format's default.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from importlib.resources import files

import jinja2

from . import sinks


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
        "md_text": sinks.md_text,
        "tex_code": sinks.tex_code,
        "tex_text": sinks.tex_text,
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


@cache
def environment(fmt: str = "text") -> jinja2.Environment:
    default = _DEFAULTS[fmt]

    def finalize(value: object) -> object:
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
    return env


def render(name: str, **context: object) -> str:
    return environment(template_format(name)).get_template(name).render(**context)
