"""Where a lock's local URL (``file://{project}/...``, ``file://~/...``, ``file:///abs``) is on this machine: the one
rule pin, bundle, the rebuilders and verify's remedy read such a URL by, so the URL the fetch policy is asked about is
the same for all of them (``fileurls`` decodes; this module places it, which needs the folder checks of ``_fs``)."""

from __future__ import annotations

from pathlib import Path

from . import _readlimits, fileurls
from ._fs import join_relative
from .errors import BundleError, PinError, UnsafeInputError
from .grammar import has_control, shown

TYPE_CHECKING = False
if TYPE_CHECKING:
    from .model import PythonPackage


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


def declared_name(tree: Path) -> str | None:
    """The name ``tree`` declares for its project: ``pyproject.toml``'s ``[project] name``, else its
    ``[tool.poetry] name`` (a Poetry project before Poetry 2), else ``setup.cfg``'s ``[metadata] name`` (a setuptools
    project configured there); None where none names one (a name set in ``setup.py`` code, or files that cannot be
    read): nothing then says it is another project."""
    found: list[object] = []
    try:
        text = _readlimits.read_text(tree / "pyproject.toml", error=BundleError, what="pyproject.toml")
        data = _readlimits.load_toml(text, origin=str(tree / "pyproject.toml"), error=BundleError)
    except (BundleError, OSError):
        data = {}
    tool = data.get("tool")
    for table in (data.get("project"), tool.get("poetry") if isinstance(tool, dict) else None):
        if isinstance(table, dict):
            found.append(table.get("name"))
    found.append(_setup_cfg_name(tree / "setup.cfg"))
    return next((name for name in found if isinstance(name, str) and name.strip()), None)


def _setup_cfg_name(path: Path) -> str | None:
    """``[metadata] name`` of a ``setup.cfg`` (None when absent, unreadable or not one line of text)."""
    import configparser

    try:
        text = _readlimits.read_text(path, error=BundleError, what="setup.cfg")
        parser = configparser.ConfigParser(interpolation=None)
        parser.read_string(text, source=str(path))
        name = parser.get("metadata", "name", fallback=None)
    except (BundleError, OSError, configparser.Error):
        return None
    return name.strip() if name and "\n" not in name.strip() else None


def project_fault(tree: Path, name: str) -> str | None:
    """Why ``tree`` is not the folder of the project ``name`` on this machine (it is no folder, holds no
    pyproject.toml, setup.py or setup.cfg, or declares another project's name), said of ``tree``; None where it is."""
    if not tree.is_dir():
        return f"source directory {tree} does not exist on this machine"
    if not any((tree / marker).is_file() for marker in ("pyproject.toml", "setup.py", "setup.cfg")):
        return f"{tree} is not the project (no pyproject.toml or setup.py there)"
    from packaging.utils import canonicalize_name

    declared = declared_name(tree)
    if declared is not None and canonicalize_name(declared) != canonicalize_name(name):
        return f"{tree} is the project {shown(declared)}, not {name}"
    return None


def editable_folder_shown(pkg: PythonPackage, project_dir: Path | None) -> str:
    """The folder of a project the lock installs editable, as one shell word for the command that installs it as
    locked (``sinks.editable_install``), which rebuild's plan note and verify's warning both give: one the lock records
    under ``{project}`` only where ``project_dir`` is known and the folder there is that project (joined under it,
    links resolved, ``project_fault``), one outside the project by the path its URL records (``sinks.recorded_folder``,
    never looked up); "" for any other (a ``{project}`` folder not found), for which the command keeps DIR."""
    from .sinks import recorded_folder, shell_shown

    source = pkg.source
    if not source.url.startswith("file://" + fileurls.PROJECT):
        return recorded_folder(source.url, source.subdirectory)
    if project_dir is None:
        return ""
    try:
        tree = local_dir(source.url, project_dir)
        if source.subdirectory:
            tree = join_relative(tree, source.subdirectory, "subdirectory")
    except (PinError, UnsafeInputError):
        return ""
    return "" if project_fault(tree, pkg.name) else shell_shown([str(tree)])
