"""Where a lock's local URL (``file://{project}/...``, ``file://~/...``, ``file:///abs``) is on this machine: the one
rule pin, bundle, the rebuilders and verify's remedy read such a URL by, so the URL the fetch policy is asked about is
the same for all of them (``fileurls`` decodes; this module places it, which needs the folder checks of ``_fs``)."""

from __future__ import annotations

from pathlib import Path

from . import fileurls
from ._fs import join_relative
from .errors import PinError, UnsafeInputError
from .grammar import has_control


def local_dir(url: str, project_dir: Path | None) -> Path:
    """The directory a recorded local-directory URL names on this machine: ``{project}/...`` under
    ``project_dir``, ``~/...`` under the home directory, percent-decoded. ``PinError`` says why it has none."""
    path = fileurls.decoded_path(url) if fileurls.is_file_url(url) else url
    if path.startswith(fileurls.PROJECT):
        if project_dir is None:
            raise PinError(
                "recorded inside the project ({project}): run inside the project, or name it with --project DIR"
            )
        # Relative to the project root, and inside it: a lock's "{project}/../.." names nothing of the user's.
        return join_relative(project_dir, fileurls.file_url_path(url), "{project} directory")
    if path.startswith(fileurls.PREFIX):
        raise PinError(f"{url}: a directory inside the captured environment cannot be rebuilt from")
    local = fileurls.local_path(url)
    if local is None or not local.is_absolute() or has_control(path):  # a relative path: the working directory's
        raise UnsafeInputError(f"{url[:200]!r}: a local directory must be an absolute file:// path")
    return local


def here(url: str, project_dir: Path | None) -> str:
    """A lock's URL of a file inside the project or the home (``file://{project}/...``, ``file://~/...``: a wheel or
    a conda archive as capture records it) as the ``file:`` URL of that file on this machine (``local_dir``); any
    other URL as it is. The fetch policy is asked about this URL, and the file is read from it. (In the core, below
    pin, the conda rebuild and verify: verify's remedy asks the fetch policy of the same URL the rebuild will.)"""
    if url.startswith(("file://" + fileurls.PROJECT, "file://" + fileurls.HOME)):
        return local_dir(url, project_dir).as_uri()
    return url
