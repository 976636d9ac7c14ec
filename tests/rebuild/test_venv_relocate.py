"""A venv built in a staging folder and moved (``rebuild/venv.py``, ``_relocate``): the files that named the staging
folder (shebangs, activate scripts, pyvenv.cfg) name the destination, each kept as the file it was."""

from __future__ import annotations

import os
import stat
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from envsnap.rebuild.venv import _relocate


def test_the_staging_path_is_the_destination_in_every_script_that_names_it(tmp_path: Path) -> None:
    staging = tmp_path / ".envsnap-venv-0123456789ab" / "venv"
    dest = tmp_path / "env"  # shorter: each rewritten file is cut to its new length
    longer = tmp_path / "a-destination-folder-whose-path-is-longer-than-the-staging-folders"
    scripts = staging / "bin"
    scripts.mkdir(parents=True)
    (staging / "pyvenv.cfg").write_text(f"home = /usr/bin\nprompt = venv\ncommand = uv venv {staging}\n")
    body = "import sys\nfrom tool import main\nsys.exit(main())\n"
    (scripts / "tool").write_text(f"#!{staging}/bin/python\n{body}")
    (scripts / "activate").write_text(f'VIRTUAL_ENV="{staging}"\nexport VIRTUAL_ENV\n# {staging} again\n')
    (scripts / "helper").write_text("#!/bin/sh\necho unchanged\n")
    (scripts / "tool").chmod(0o755)
    (scripts / "locked").write_text(f"#!{staging}/bin/python\n")
    (scripts / "locked").chmod(0o500)
    outside = tmp_path / "outside.py"
    outside.write_text(f"#!{staging}/bin/python\n")
    (scripts / "linked").symlink_to(outside)
    large = scripts / "large"
    large.write_bytes(str(staging).encode() + b"\0" * (1 << 20))
    helper_stat = (scripts / "helper").stat()
    inode = (scripts / "tool").stat().st_ino

    _relocate(staging, dest)

    assert (staging / "pyvenv.cfg").read_text() == f"home = /usr/bin\nprompt = venv\ncommand = uv venv {dest}\n"
    assert (scripts / "tool").read_text() == f"#!{dest}/bin/python\n{body}"
    assert (scripts / "activate").read_text() == f'VIRTUAL_ENV="{dest}"\nexport VIRTUAL_ENV\n# {dest} again\n'
    assert (scripts / "locked").read_text() == f"#!{dest}/bin/python\n"  # root may write a file of mode 0o500
    assert stat.S_IMODE((scripts / "tool").stat().st_mode) == 0o755
    assert stat.S_IMODE((scripts / "locked").stat().st_mode) == 0o500
    assert (scripts / "tool").stat().st_ino == inode  # the same file, rewritten in place
    assert (scripts / "helper").stat().st_mtime_ns == helper_stat.st_mtime_ns  # not naming it: not written
    assert outside.read_text() == f"#!{staging}/bin/python\n"  # a link's target is not the venv's
    assert large.read_bytes().startswith(str(staging).encode())  # over 1 MiB: not a script

    _relocate(staging, longer)  # nothing names the staging folder any more
    assert (scripts / "tool").read_text().startswith(f"#!{dest}/bin/python\n")
    (scripts / "tool").write_text(f"#!{staging}/bin/python\nrest\n")
    _relocate(staging, longer)
    # Past 127 bytes a #! line is cut (the kernel's limit, which pip and uv keep): a /bin/sh launcher, as theirs.
    launcher = f"#!/bin/sh\n'''exec' '{longer}/bin/python' \"$0\" \"$@\"\n' '''\nrest\n"
    assert (scripts / "tool").read_text() == launcher
    assert not any(name.startswith(".") for name in os.listdir(scripts))


def test_a_venv_rebuilt_in_a_folder_whose_name_holds_a_quote_runs_its_scripts_and_activates_there(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cli: Callable[..., Any]
) -> None:
    """A bundle unpacked into ``it's here`` and rebuilt beside it: uv writes the staging folder in the activate
    scripts, and in a console script's ``/bin/sh`` launcher (a path with a space), single-quoted, each ``'`` as
    ``'"'"'``, which the move's rewrite of the plain path did not find: ``bin/activate`` set ``VIRTUAL_ENV`` to the
    staging folder, removed by then, and the script ran its Python (``not found``). Both name the destination."""
    import shlex
    import subprocess

    from offline_wheels import locked_bundle, wheel
    from testutil import uv_bin

    uv = uv_bin()
    if uv is None:
        pytest.skip("uv is not installed")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    monkeypatch.setenv("UV_CACHE_DIR", str(tmp_path / "uv-cache"))
    made = wheel(
        tmp_path / "wheels",
        "clipkg",
        "1.0",
        files={
            "clipkg/__init__.py": b"def main():\n    print('cli ok')\n",
            "clipkg-1.0.dist-info/entry_points.txt": b"[console_scripts]\nclipkg = clipkg:main\n",
        },
    )
    _, bundle, _ = locked_bundle(uv, tmp_path, {"clipkg": made})
    where = tmp_path / "it's here"
    where.mkdir()
    env = where / "env"
    done = cli("rebuild", bundle, "--offline", "--dest", env)
    assert done.code == 0, done
    ran = subprocess.run([env / "bin" / "clipkg"], capture_output=True, text=True, timeout=60)
    assert (ran.returncode, ran.stdout) == (0, "cli ok\n"), ran
    activate = f'. {shlex.quote(str(env / "bin" / "activate"))} && printf %s "$VIRTUAL_ENV" && command -v python'
    shown = subprocess.run(["sh", "-c", activate], capture_output=True, text=True, timeout=60, check=True).stdout
    assert shown == f"{env}{env}/bin/python\n", shown
    for name in ("activate", "activate.csh", "activate.fish", "activate.nu"):
        assert ".envsnap-venv" not in (env / "bin" / name).read_text(), name


def _cli_bundle(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The bundle of a lock of one wheel whose console script ``clipkg`` prints ``cli ok``."""
    from offline_wheels import locked_bundle, wheel
    from testutil import uv_bin

    uv = uv_bin()
    if uv is None:
        pytest.skip("uv is not installed")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    monkeypatch.setenv("UV_CACHE_DIR", str(tmp_path / "uv-cache"))
    made = wheel(
        tmp_path / "wheels",
        "clipkg",
        "1.0",
        files={
            "clipkg/__init__.py": b"def main():\n    print('cli ok')\n",
            "clipkg-1.0.dist-info/entry_points.txt": b"[console_scripts]\nclipkg = clipkg:main\n",
        },
    )
    return locked_bundle(uv, tmp_path, {"clipkg": made})[1]


@pytest.mark.parametrize("installer", ["uv", "pip"])
@pytest.mark.parametrize(
    ("folder", "name"),
    [
        ('say "hi" $HOME `id` a\\b', "env"),  # CPython's venv and pip write the path raw between "..."
        ("it's here", "env"),
        ("plain", "it's env"),  # the staging folder holds no ' but the destination does
        ("plain", "my env"),  # the staging folder holds no space: its launchers' #! line named the path bare
        ("plain", '$x `y` "z"'),
        ("plain", "new\nline"),  # a newline: no #! line holds it
    ],
)
def test_a_venv_rebuilt_in_an_awkward_folder_activates_in_bash_and_runs_its_console_scripts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cli: Callable[..., Any], installer: str, folder: str, name: str
) -> None:
    """CPython's venv writes the folder raw between double quotes in ``activate`` (``VIRTUAL_ENV="..."``) and pip
    between double quotes in a console script's ``/bin/sh`` launcher: a ``"``, ``$``, backtick or backslash in the
    destination's path broke them (``VIRTUAL_ENV`` another folder, the script a syntax error). A destination whose
    own name holds a ``'`` or a space, beside a staging folder whose path holds none, was written bare where the
    staging folder had been (uv's quotes, the ``#!`` line). Each activates and runs wherever it is rebuilt."""
    import shlex
    import subprocess

    bundle = _cli_bundle(tmp_path, monkeypatch)
    if installer == "pip":
        monkeypatch.setenv("ENVSNAP_NO_UV", "1")
    where = tmp_path / folder
    where.mkdir(exist_ok=True)
    env = where / name
    done = cli("rebuild", bundle, "--offline", "--dest", env)
    assert done.code == 0, done
    ran = subprocess.run([env / "bin" / "clipkg"], capture_output=True, text=True, timeout=60)
    assert (ran.returncode, ran.stdout) == (0, "cli ok\n"), ran
    activate = (
        f". {shlex.quote(str(env / 'bin' / 'activate'))} && printf '%s\\n' \"$VIRTUAL_ENV\" && command -v python"
        " && clipkg"
    )
    shown = subprocess.run(["bash", "-c", activate], capture_output=True, text=True, timeout=60)
    assert shown.stdout == f"{env}\n{env}/bin/python\ncli ok\n", shown


def test_the_csh_and_fish_activate_scripts_name_an_awkward_destination_as_their_shell_reads_it(tmp_path: Path) -> None:
    """CPython's venv writes the folder raw between double quotes in ``activate.csh`` and ``activate.fish`` too,
    where a ``"``, ``$`` or backtick means another thing than in bash: each is escaped as that shell reads it, and
    uv's single-quoted form is rewritten for each shell as well."""
    staging = tmp_path / ".envsnap-venv-0123456789ab" / "venv"
    dest = tmp_path / 'a "b" $c `d` it\'s'
    (staging / "bin").mkdir(parents=True)
    (staging / "bin" / "activate.csh").write_text(f'setenv VIRTUAL_ENV "{staging}"\n')
    (staging / "bin" / "activate.fish").write_text(f"set -gx VIRTUAL_ENV \"{staging}\"\nset -gx X '{staging}'\n")
    _relocate(staging, dest)
    csh = str(dest).replace('"', '"\'"\'"').replace("$", "\"'$'\"").replace("`", "\"'`'\"")
    assert (staging / "bin" / "activate.csh").read_text() == f'setenv VIRTUAL_ENV "{csh}"\n'
    fish_double = str(dest).replace('"', '\\"').replace("$", "\\$")
    fish_single = str(dest).replace("'", "\\'")
    assert (staging / "bin" / "activate.fish").read_text() == (
        f"set -gx VIRTUAL_ENV \"{fish_double}\"\nset -gx X '{fish_single}'\n"
    )
