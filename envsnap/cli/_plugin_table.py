"""What the command lines of ``check``, ``rebuild`` and ``import`` say about their plug-ins (target names, default
destinations, each target's own flags, the import formats), written out so that a command's parser and its
``--help`` import no plug-in: loading the rebuild targets to list them pulls in the docker and conda stacks
(about 0.8 CPU-seconds, half a check). tests/test_startup.py checks this table against the registries, so the
two never drift; a new target or format fails that test until its line is added here."""

from __future__ import annotations

TYPE_CHECKING = False  # not typing's: it is not imported at start-up (envsnap/cli/__init__.py)
if TYPE_CHECKING:
    from typing import Any

HOST = "host"  # ``envsnap check --target host``: the host as it is (envsnap.compat.target.HOST)

# --target name -> its default --dest, in the registry's order (envsnap.rebuild.REGISTRY)
TARGET_DEST = {"docker": "envsnap-docker-context", "conda": "envsnap-conda", "venv": "envsnap-venv"}

# --target name -> its own flags as ``Options.flags()`` gives them (less the ``default``, always None)
TARGET_FLAGS: dict[str, dict[str, dict[str, Any]]] = {
    "docker": {
        "--tag": {
            "dest": "tag",
            "help": "the image's tag, set only after the build and the verification pass (default: "
            "envsnap/rebuild:<lock digest prefix>)",
            "metavar": "NAME[:TAG]",
        },
        "--base-image": {
            "dest": "base_image",
            "help": "build FROM this image instead of the one chosen from the lock (OS, Python, CUDA)",
            "metavar": "IMAGE",
        },
        "--base-digest": {"dest": "base_digest", "help": "pin the base image to this digest", "metavar": "sha256:HEX"},
        "--apt-snapshot": {
            "dest": "apt_snapshot",
            "help": "install system packages from the snapshot mirror of DATE "
            "(snapshot.debian.org, snapshot.ubuntu.com)",
            "metavar": "DATE",
        },
        "--as-of": {
            "dest": "as_of",
            "help": "install the system packages that are neither bundled nor in the base image from the snapshot "
            "archive as of DATE (auto: the lock's capture time)",
            "metavar": "auto|DATE",
        },
        "--system-packages": {
            "dest": "system_packages",
            "help": "which of the lock's system packages to install, pinned (default: needed: those the Python "
            "packages' binaries load)",
            "choices": ("needed", "all", "none"),
        },
    },
    "conda": {
        "--engine": {
            "dest": "engine",
            "help": "conda target: the installer (default: rattler, embedded; the others must be on PATH)",
            "choices": ("rattler", "conda", "mamba", "micromamba"),
        }
    },
    "venv": {},
}

# --from name -> its description, in the order ``--from auto`` tries them (envsnap.importers.REGISTRY)
IMPORT_FORMATS = {
    "conda-explicit": "conda explicit file (@EXPLICIT, one package URL#md5 a line)",
    "conda-lock": "conda-lock.yml (unified conda-lock file, version 1)",
    "json": "envsnap's JSON export of a lock",
    "pylock": "PEP 751 pylock.toml (from envsnap, uv, pdm, pip lock ...)",
    "requirements": "pinned requirements.txt with --hash options (pip-compile --generate-hashes, envsnap)",
}


def target_flags() -> dict[str, str]:
    """Every target's own flags: ``--flag`` -> the field it sets."""
    return {flag: settings["dest"] for flags in TARGET_FLAGS.values() for flag, settings in flags.items()}
