"""How the files of an environment built in a staging folder name that folder: what its move to the destination
rewrites (the venv target's ``_relocate``, the conda target's ``relocate_prefix``)."""

from __future__ import annotations

# uv writes a path single-quoted in the activate scripts and in a console script's ``/bin/sh`` launcher (a path
# with a space), each ``'`` in it as ``'"'"'``.
_QUOTE, _QUOTED = b"'", b"'\"'\"'"
# The longest ``#!`` line pip and uv write before they write a ``/bin/sh`` launcher instead (the kernel's limit
# was 127 bytes): the line with its ``#!`` and newline.
_SHEBANG_MAX = 127
_LAUNCHER_HEAD, _LAUNCHER_TAIL = b"#!/bin/sh\n'''exec' ", b" \"$0\" \"$@\"\n' '''\n"


def moved_forms(old: bytes, new: bytes) -> tuple[tuple[bytes, bytes], ...]:
    """``(before, after)`` pairs to replace, in order, in a file of the moved environment: the staging folder's path
    as uv single-quotes it where it holds a ``'`` (``it's here``: the plain path is not in those files, which were
    left naming the staging folder, gone once moved: ``python: not found``), then the plain path."""
    quoted = ((_sh_single(old), _sh_single(new)),) if _QUOTE in old else ()
    return (*quoted, (old, new))


def moved_script(name: str, data: bytes, old: bytes, new: bytes) -> bytes:
    """A file of a venv's ``bin`` folder (``name``) that names the staging folder ``old``, naming ``new`` instead,
    each place quoted as it is read there.

    A console script's first line is written anew for its interpreter's new path: a ``/bin/sh`` launcher where
    the ``#!`` line cannot hold it (a space, a newline, or longer than 127 bytes: ``my env`` beside a staging
    folder named without one kept a ``#!`` line the kernel cut at the space). In the activate scripts of the
    shells a path is read between quotes: between single quotes (uv's), or between double quotes, where CPython's
    venv wrote it raw (``VIRTUAL_ENV="..."``), so a ``"``, ``$``, backtick or backslash in the destination made
    another value or a syntax error; each is escaped for its shell. Other files: ``moved_forms``."""
    data = _moved_launcher(data, old, new)
    shell = _SHELLS.get(name)
    if shell is None:
        for before, after in moved_forms(old, new):
            data = data.replace(before, after)
        return data
    single, double = shell
    old_single = _sh_single(old)  # uv's, in each shell's script
    out, at = [], 0
    while True:
        found = [(i, form) for form in {old, old_single} if (i := data.find(form, at)) >= 0]
        if not found:
            break
        i, form = min(found, key=lambda hit: (hit[0], -len(hit[1])))
        opening = data[i - 1 : i]
        if opening == b"'" and form == old_single:
            text = single(new)
        elif opening == b'"' and form == old:
            text = double(new)
        else:  # bare (pyvenv.cfg's command, a comment): as it was written
            text = single(new) if form != old else new
        out += [data[at:i], text]
        at = i + len(form)
    out.append(data[at:])
    return b"".join(out)


def _moved_launcher(data: bytes, old: bytes, new: bytes) -> bytes:
    """``data`` with its first line, or its ``/bin/sh`` launcher, written for the interpreter's new path where it
    names one in ``old``; else ``data`` as it is."""
    if data.startswith(_LAUNCHER_HEAD):
        line, cut, rest = data[len(_LAUNCHER_HEAD) :].partition(_LAUNCHER_TAIL)
        if not cut:
            return data
        word = line
        if len(word) >= 2 and word[:1] == word[-1:] == b'"':  # pip's: the path raw between double quotes
            path = word[1:-1]
        elif len(word) >= 2 and word[:1] == word[-1:] == b"'":  # uv's: each ' as '"'"'
            path = word[1:-1].replace(_QUOTED, _QUOTE)
        else:
            return data
    elif data.startswith(b"#!"):
        first, cut, rest = data.partition(b"\n")
        path = first[2:]
        if not cut or b" " in path:  # an interpreter with an argument: not a console script's line
            return data
    else:
        return data
    if not path.startswith(old + b"/"):
        return data
    moved = new + path[len(old) :]
    if not any(c in moved for c in (b" ", b"\t", b"\n")) and len(moved) + 3 <= _SHEBANG_MAX:
        return b"#!" + moved + b"\n" + rest
    return _LAUNCHER_HEAD + _launcher_word(moved) + _LAUNCHER_TAIL + rest


def _launcher_word(path: bytes) -> bytes:
    """``path`` as one word of a ``/bin/sh`` launcher's line, which Python reads as part of a ``'''...'''`` string:
    single-quoted, each ``'`` as ``'"'"'`` and each backslash as ``'"\\\\"'`` (sh reads one backslash; Python reads
    ``\\\\``, a valid escape, where a lone backslash before some letters is a syntax error or a warning)."""
    return b"'" + _sh_single(path).replace(b"\\", b"'\"\\\\\"'") + b"'"


def _sh_single(path: bytes) -> bytes:
    """``path`` as uv writes it between single quotes: each ``'`` as ``'"'"'``."""
    return path.replace(_QUOTE, _QUOTED)


def _sh_double(path: bytes) -> bytes:
    for c in (b"\\", b'"', b"$", b"`"):
        path = path.replace(c, b"\\" + c)
    return path


def _csh_single(path: bytes) -> bytes:
    return path.replace(b"'", b"'\\''").replace(b"!", b"'\\!'")


def _csh_double(path: bytes) -> bytes:
    # csh has no escape for these between double quotes: each is closed, given single-quoted, and opened again.
    for c in (b'"', b"$", b"`"):
        path = path.replace(c, b"\"'" + c + b"'\"")
    return path.replace(b"!", b'"\\!"')


def _fish_single(path: bytes) -> bytes:
    return path.replace(b"\\", b"\\\\").replace(b"'", b"\\'")


def _fish_double(path: bytes) -> bytes:
    for c in (b"\\", b'"', b"$"):
        path = path.replace(c, b"\\" + c)
    return path


_SHELLS = {
    "activate": (_sh_single, _sh_double),
    "activate.csh": (_csh_single, _csh_double),
    "activate.fish": (_fish_single, _fish_double),
}
