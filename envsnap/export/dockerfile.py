"""``envsnap export LOCK --format dockerfile -o DIR``: the docker rebuild's build context, from the lock.

The same files ``envsnap rebuild --target docker --dry-run`` plans, with the table's default base image
(pinned by tag: an exporter does not ask an engine for digests). ``wheels/`` and ``tool/`` carry a README
saying what to put there; ``envsnap rebuild --target docker`` fills them from a bundle.
"""

from __future__ import annotations

from collections.abc import Mapping

from .. import lockfile
from ..dockerfile.baseimage import refuses_conda, refuses_platform
from ..dockerfile.spec import DockerOptions, make_spec, render_context
from ..errors import EnvsnapError
from ..model import Snapshot
from .interface import Exporter, ExportError, UnpinnedError, lock_word, pin_command


def conda_instead() -> str:
    """What export can do with a conda lock instead: rebuild's remedy, "use --target conda", names an option export
    has not. The rebuild names the lock as the export was given it (``lock_word``)."""
    return (
        "export it with -f environment-yml, -f conda-explicit or -f conda-lock, or rebuild it with "
        f"`envsnap rebuild {lock_word()} --target conda`"
    )


def render(snapshot: Snapshot) -> Mapping[str, bytes]:
    refused = refuses_conda(snapshot)
    if refused:
        # The rebuild's reason (one rule), with export's remedy; before the wheels, which a conda lock's refusal
        # does not depend on.
        raise ExportError(f"cannot export a Dockerfile: {refused}: {conda_instead()}")
    refused = refuses_platform(snapshot)
    if refused:  # the rebuild's reason and remedy (one rule), before the wheels: pinning them would not help
        raise ExportError(f"cannot export a Dockerfile: {refused}")
    sealed = snapshot if snapshot.envsnap.content_digest else lockfile.seal(snapshot)
    missing = [
        p
        for p in sealed.pip_layer()
        if p.artifact is None or not p.artifact.sha256 or not p.artifact.filename.endswith(".whl")
    ]
    if missing:
        # The image installs with --require-hashes: every package needs its wheel's sha256 in the lock. A local
        # project or a VCS checkout has no wheel to pin: only a bundle builds one, so pinning again is no remedy.
        built = any(p.source.kind in ("directory", "vcs") for p in missing)
        remedy = (
            "a local project or VCS checkout gets its wheel only from a bundle: "
            f"`envsnap bundle {lock_word()} -o DIR`, then `envsnap export DIR --format dockerfile`"
            if built
            else f"run `{pin_command()}` (or `envsnap bundle`) first"
        )
        names = ", ".join(f"{p.name}=={p.version}" for p in missing[:8])
        # Pinning explains the second remedy's packages (the CLI says why it left them): not a project's.
        message = f"dockerfile: {len(missing)} package(s) have no pinned wheel: {names}; {remedy}"
        if built:
            raise ExportError(message)
        raise UnpinnedError(message, (p.name for p in missing))
    try:
        spec = make_spec(sealed, DockerOptions())
        return render_context(spec, lockfile.dumps(sealed).encode())
    except EnvsnapError as exc:
        # The docker target's messages name its rebuild options (--base-image, --system-packages): export has
        # none and always uses the base image chosen from the lock, so the message says where they are.
        where = (
            f" (envsnap export has no --base-image: `envsnap rebuild {lock_word()} --target docker --dry-run "
            "--base-image IMAGE` prints the Dockerfile for another base image)"
            if "--base-image" in str(exc)
            else ""
        )
        raise ExportError(f"cannot export a Dockerfile: {exc}{where}") from exc


class DockerfileExporter(Exporter):
    name = "dockerfile"
    description = "a Docker build context: Dockerfile, lock, hashed requirements (wheels come from a bundle)"
    filename = "envsnap-docker"
    directory = True
    needs_artifacts = True

    def files(self, snapshot: Snapshot) -> Mapping[str, bytes]:
        return render(snapshot)


EXPORTER = DockerfileExporter()
