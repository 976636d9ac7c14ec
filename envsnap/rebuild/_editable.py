"""What a rebuild does with a project (or a git checkout) the lock installs editable, said in its plan
(``editable_notes``).

Every target installs it from a wheel built from the project (the bundle's, or the one a rebuild without
``--bundle`` builds): a regular install, which verify reports as a warning (docs/design.md, "Research layouts").
"""

from __future__ import annotations

from pathlib import Path

from .. import _tools
from .._localurls import editable_folder_shown
from ..artifacts.bundle import package_label
from ..model import Snapshot
from ..sinks import editable_install, shell_shown


def editable_notes(lock: Snapshot, project_dir: Path | None, python: Path | None) -> list[str]:
    """A note for each project the lock installs editable. ``python``: the new environment's interpreter on this
    machine, for the command that installs the project as locked; None for an image, which cannot hold an
    editable install of a folder of this machine. The folder is named as verify's warning names it
    (``_localurls.editable_folder_shown``): under ``{project}`` only where it is a project there (joined under the
    project, links resolved), outside the project by the path its URL records, never looked up; any other (a
    ``{project}`` folder not found) is shown as the lock's URL."""
    notes = []
    for pkg in lock.pip_layer():
        if pkg.source.kind == "vcs" and pkg.source.editable:
            # A checkout of a repository (``pip install -e git+URL#egg=NAME``): the wheel of its locked commit.
            notes.append(
                f"{package_label(pkg)} is editable in the lock, a checkout of its repository: installed from a wheel "
                "built from the locked commit, a regular install, which verify reports as a warning; `pip install "
                "--no-deps -e` of its repository at that commit afterwards installs it as locked"
            )
            continue
        if pkg.source.kind != "directory" or not pkg.source.editable:
            continue
        said = f"{package_label(pkg)} is editable in the lock: installed from a wheel built from it, a regular install"
        if python is None:
            notes.append(
                f"{said}, which verify reports as a warning (an image cannot hold an editable install of a folder of "
                "this machine)"
            )
            continue
        # One shell word (``/src/proj``, ``"$HOME"'/my lib'``), as verify's warning names it; where none is found, DIR
        # stands in the command, and the lock's URL says which folder DIR is.
        folder = editable_folder_shown(pkg, project_dir)
        uv = shell_shown([_tools.uv_word()])  # the uv envsnap runs, by its path where PATH's is not it
        # The user's folders: a newline in one is bash's $'\x0a' word, as the plan shows it whole on one line.
        command = editable_install(f"{uv} pip install --python {shell_shown([str(python)])}", pkg.source.url, folder)
        command = command.replace("`, DIR", "` afterwards, DIR", 1) if not folder else f"{command} afterwards"
        notes.append(f"{said}, which verify reports as a warning; {command} installs it as locked")
    return notes
