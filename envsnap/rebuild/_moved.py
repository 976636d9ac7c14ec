"""How the files of an environment built in a staging folder name that folder: what its move to the destination
rewrites (the venv target's ``_relocate``, the conda target's ``relocate_prefix``)."""

from __future__ import annotations

# uv writes a path single-quoted in the activate scripts and in a console script's ``/bin/sh`` launcher (a path
# with a space), each ``'`` in it as ``'"'"'``.
_QUOTE, _QUOTED = b"'", b"'\"'\"'"


def moved_forms(old: bytes, new: bytes) -> tuple[tuple[bytes, bytes], ...]:
    """``(before, after)`` pairs to replace, in order, in a file of the moved environment: the staging folder's path
    as uv single-quotes it where it holds a ``'`` (``it's here``: the plain path is not in those files, which were
    left naming the staging folder, gone once moved: ``python: not found``), then the plain path."""
    quoted = ((old.replace(_QUOTE, _QUOTED), new.replace(_QUOTE, _QUOTED)),) if _QUOTE in old else ()
    return (*quoted, (old, new))
