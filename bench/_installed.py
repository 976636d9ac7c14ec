"""The envsnap a bench measures: this tree built into a wheel and installed, non-editable, into a fresh venv.

That is how users run envsnap (the README's install command), and it is what the benches time. The developer's
interpreter is a poor stand-in: its site-packages may carry `.pth` files that run code at every start (on the
machine these benches were written on, a sandbox's certifi hook cost 0.06 s of each 0.09 s interpreter start,
more than envsnap's whole `--help`), and an editable install resolves imports through a finder of its own.

The venv is kept under the user's cache folder, keyed by the wheel's sha256, so a second bench run of the same
tree reuses it; `ENVSNAP_BENCH_PYTHON=PATH` names an interpreter to use instead (for example the developer's own,
to compare). Another tree (a bench's `--before OLDTREE`) is built and installed the same way, into a venv of its
own, so that the two are timed alike.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _uv() -> str:
    return shutil.which("uv") or str(Path(sys.executable).parent / "uv")


@cache
def envsnap_python(tree: Path = ROOT) -> str:
    """The python of a venv holding ``tree``'s envsnap (this one's by default), installed from its wheel (built once
    per tree): a bench's ``--before OLDTREE`` runs the same way as the tree it is compared with."""
    chosen = os.environ.get("ENVSNAP_BENCH_PYTHON")
    if chosen and tree == ROOT:
        return chosen
    cache_root = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "envsnap-bench"
    cache_root.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="wheel-", dir=cache_root) as tmp:
        subprocess.run([_uv(), "build", "-q", "--wheel", "--out-dir", tmp, str(tree)], check=True, capture_output=True)
        (wheel,) = Path(tmp).glob("*.whl")
        digest = hashlib.sha256(wheel.read_bytes()).hexdigest()[:16]
        venv = cache_root / f"venv-{digest}"
        python = venv / "bin" / "python"
        done = venv / ".bench-complete"
        with open(cache_root / f"venv-{digest}.lock", "a") as lock:
            # Two benches of one tree at once: one builds the venv, the other waits for it (it removed the
            # other's half-made venv before).
            fcntl.flock(lock, fcntl.LOCK_EX)
            _build(venv, python, wheel, done)
    return str(python)


def _build(venv: Path, python: Path, wheel: Path, done: Path) -> None:
    if done.exists():
        return
    # A venv's paths are absolute, so it is built where it lives; the marker, written last, says it is whole (an
    # interrupted build is removed and made again). Byte code is compiled at install, as an installed envsnap has
    # it.
    shutil.rmtree(venv, ignore_errors=True)
    subprocess.run([_uv(), "venv", "-q", "--python", os.path.realpath(sys.executable), str(venv)], check=True)
    subprocess.run(
        [_uv(), "pip", "install", "-q", "--compile-bytecode", "--python", str(python), str(wheel)], check=True
    )
    done.write_text(wheel.name + "\n")


def envsnap(*args: str, tree: Path = ROOT) -> list[str]:
    """The command line of ``envsnap ARGS`` as users run it: the console script of the installed venv (of ``tree``'s
    envsnap)."""
    python = Path(envsnap_python(tree))
    script = python.parent / "envsnap"
    return [str(script) if script.exists() else str(python), *([] if script.exists() else ["-m", "envsnap"]), *args]
