"""Jinja2 templates from ``templates/``: shipped inside the wheel as ``envsnap/templates``, read from the
source tree's top-level ``templates/`` in a checkout or an editable install."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import jinja2


def template_dir() -> Path:
    here = Path(__file__).resolve().parent
    for candidate in (here / "templates", here.parent / "templates"):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError("envsnap's templates/ folder is missing from this installation")


@cache
def environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(template_dir())),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        autoescape=False,
    )


def render(name: str, **context: object) -> str:
    return environment().get_template(name).render(**context)
