"""A run record in a few lines (``envsnap show RUN.toml``): pure, from the record alone."""

from __future__ import annotations

from collections.abc import Sequence

from .record import RunRecord, command_shown, unlabelled_text, variables_shown

MAX_NAMED = 10


def _size(n: int) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024  # type: ignore[assignment]
    return f"{n} B"


def home_text_note(count: int) -> str:
    """What ``count`` places of ``command.unlabelled`` mean for whoever reruns the command: ``show``'s "Home text"
    and the paper artifact's note on the record (REPRODUCING.md, the appendix) say it alike."""
    places = "1 place in the command names" if count == 1 else f"{count} places in the command name"
    return (
        f"{places} the home or project folder of whoever recorded it, kept as written (not as {{project}} or ~): "
        "a rerun elsewhere gets this text unchanged"
    )


def home_text_words(places: Sequence[tuple[int, str]]) -> tuple[int, ...]:
    """The command words ``unlabelled_text``'s places are in, each once, in order: what the paper artifact's
    appendix and RO-Crate name (the text itself is in the record)."""
    return tuple(dict.fromkeys(index for index, _ in places))


def rows(rec: RunRecord) -> list[tuple[str, str]]:
    from ..report import counted  # not at import: ``run`` imports this module before its command starts

    r, env, loaded = rec.result, rec.environment, rec.loaded
    ending = r.shown()
    out = [
        (
            "Command",
            command_shown(rec.command) + (" (secrets redacted: cannot be rerun)" if rec.command.redacted else ""),
        ),
    ]
    home = unlabelled_text(rec.command)
    if home:
        out.append(("Home text", home_text_note(len(home))))
        out.extend((f"  command word {index}", text) for index, text in home[:MAX_NAMED])
        if len(home) > MAX_NAMED:
            out.append(("  ...", f"{len(home) - MAX_NAMED} more (--json: command.unlabelled)"))
    if rec.command.variables:  # run --env: set again for the command by rerun
        out.append(("Variables", ", ".join(variables_shown(rec.command.variables))))
    out += [
        ("Directory", rec.command.cwd),
        ("Started", f"{r.started}, {r.duration_ms / 1000:.1f} s"),
        ("Result", ending),
        ("Peak memory", f"{r.peak_memory_kib // 1024} MiB" if r.peak_memory_kib else "unknown"),
        (
            "GPUs allowed",
            f"CUDA_VISIBLE_DEVICES={rec.gpus.visible_devices}"
            if rec.gpus.visible_devices_set
            else "all (CUDA_VISIBLE_DEVICES unset)",
        ),
        ("GPUs used", (", ".join(rec.gpus.used) or "none") if rec.gpus.used_known else f"unknown ({rec.gpus.note})"),
    ]
    how = "captured for this run" if env.captured else "given"
    if env.lock:
        out.append(("Lock", f"{env.lock} ({how}, {env.lock_digest})"))
    elif env.lock_digest:  # a lock outside the project (a record written elsewhere, its RUN.lock beside it)
        out.append(("Lock", f"outside the project, known by its digest ({how}, {env.lock_digest})"))
    else:
        out.append(("Lock", "none recorded"))
    out.append(("Environment", env.python or "unknown"))
    out.append(("Drift at start", counted(len(env.drift), "finding") if env.drift else "none"))
    # As run, rerun and verify print it, from its fields: a local source by its path, a .pth folder's paths each one
    # shell word (a version 1 record's line, by the same rule).
    out.extend((f"  {i + 1}", f.shown()) for i, f in enumerate(env.drift[:MAX_NAMED]))
    if rec.code is not None:
        state = f"dirty ({rec.code.diff_digest})" if rec.code.dirty else "clean"
        out.append(("Code", f"{rec.code.commit[:12] or '(no commit)'} on {rec.code.branch or '(detached)'}, {state}"))
    else:
        out.append(("Code", "not in a git work tree"))
    missing = [lib for lib in loaded.libraries if not lib.accounted]
    out.append(
        (
            "Loaded",
            f"{counted(len(loaded.libraries), 'shared object')} in {counted(loaded.processes, 'process', 'processes')} "
            f"({loaded.python_processes} Python, {counted(len(loaded.modules), 'top-level module')}); "
            f"{len(missing)} not accounted for by the lock",
        )
    )
    for lib in missing[:MAX_NAMED]:
        out.append(("  not accounted", f"{lib.path}" + (f": {lib.note}" if lib.note else "")))
    if len(missing) > MAX_NAMED:
        out.append(("  ...", f"{len(missing) - MAX_NAMED} more (--json lists every one)"))
    from .. import sinks
    from .data import name_read

    for d in rec.data:
        files = counted(d.files, "file")
        # The digest names its hash (``sha256:...``): "sha256 sha256:..." said it twice. A manifest of sizes and
        # times (``--data-fast``) is said to be one, as it finds no change that keeps them.
        how = " (by size and modification time: --data-fast)" if d.method == "size-mtime" else ""
        what = "missing" if d.kind == "missing" else f"{files}, {_size(d.bytes)}, {d.digest}{how}"
        # As rerun names it (``output ~/'my runs/x.pt': identical``): one path, read one way.
        out.append((d.role.capitalize(), f"{sinks.path_shown(d.path)}: {what}"))
        # A file whose name is not UTF-8, which the entries cannot list: named, so that the user sees which.
        for name in d.unlisted[:MAX_NAMED]:
            shown = sinks.path_shown(f"{d.path.rstrip('/')}/{name_read(name) or name}")
            out.append(("  not listed", f"{shown} (its name is not UTF-8: counted, not listed)"))
        if len(d.unlisted) > MAX_NAMED:
            out.append(("  ...", f"{len(d.unlisted) - MAX_NAMED} more (--json: data.unlisted)"))
    out.append(("Digest", rec.run.content_digest))
    return out
