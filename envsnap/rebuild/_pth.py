"""What a rebuild says of the folders a ``.pth`` file put on the locked environment's ``sys.path``
(``python.pth_folders``): no distribution is installed there, so no target rebuilds the modules imported from them.
"""

from __future__ import annotations

from ..model import Snapshot

# What capture writes before a .pth warning (``probes.python.python_env``): a lock written before
# ``python.pth_folders`` was recorded says it only there.
_WARNED = "python: .pth: "


def pth_folder_notes(lock: Snapshot) -> list[str]:
    """One note for each folder the lock records a ``.pth`` file adding, naming both, each one shell word
    (``sinks.path_shown``, a label left bare), as capture and verify print them; for a lock written before the
    field, the capture's own warnings of them, as capture prints them (``probes.python.warning_shown``)."""
    from .. import grammar
    from ..sinks import path_shown

    if lock.python.pth_folders:
        return [
            f"not rebuilt: {path_shown(grammar.strip_control(entry.pth))} put "
            f"{path_shown(grammar.strip_control(entry.folder))} on the locked environment's sys.path, and no "
            "distribution is installed there: the modules imported from it are in no lock, and cannot be "
            "imported in the rebuilt environment (copy the folder and the .pth file yourself)"
            for entry in lock.python.pth_folders
        ]
    warned = [warning for warning in lock.envsnap.warnings if warning.startswith(_WARNED)]
    if not warned:
        return []
    from ..probes.python import warning_shown

    return [f"not rebuilt (the capture warned): {warning_shown(w).removeprefix(_WARNED)}" for w in warned]
