"""A conda prefix built in a staging folder and moved (``rebuild/conda.py``, ``relocate_prefix``): the files that
held the staging path hold the destination's, and the hashes the installers recorded of them are those of the
files as they now are."""

from __future__ import annotations

import base64
import hashlib
import json
import os
from pathlib import Path

import pytest

from envsnap.rebuild.conda import relocate_prefix, staging_prefix


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(data).digest()).decode().rstrip("=")


def test_moved_files_keep_true_hashes_in_conda_meta_and_in_a_scripts_record(tmp_path: Path) -> None:
    """After ``rebuild --target conda --prefix P``, conda-meta's ``sha256_in_prefix`` of a file with the prefix
    written in, and RECORD's hash of a pip console script, were those of the staging folder's files."""
    staging, dest = tmp_path / "s" / "stage12", tmp_path / "s" / "final12"
    old = str(staging).encode()
    tool = f"#!/bin/sh\necho prefix={staging}\n".encode()
    script = f"#!{staging}/bin/python\nimport clitool\n".encode()
    data = f"root={staging}\n".encode()
    (staging / "bin").mkdir(parents=True)
    (staging / "bin" / "tool").write_bytes(tool)
    (staging / "bin" / "clitool").write_bytes(script)
    site = staging / "lib" / "python3.11" / "site-packages"
    (site / "clitool-0.1.dist-info").mkdir(parents=True)
    (site / "clitool").mkdir()
    (site / "clitool" / "where.txt").write_bytes(data)
    record = (
        f"../../../bin/clitool,sha256={_b64(script)},{len(script)}\n"
        f"clitool/where.txt,sha256={_b64(data)},{len(data)}\n"
        "clitool-0.1.dist-info/RECORD,,\n"
    )
    (site / "clitool-0.1.dist-info" / "RECORD").write_text(record)
    meta = {
        "name": "tool",
        "paths_data": {
            "paths": [
                {
                    "_path": "bin/tool",
                    "path_type": "hardlink",
                    "sha256": "0" * 64,
                    "sha256_in_prefix": hashlib.sha256(tool).hexdigest(),
                    "size_in_bytes": len(tool),
                },
                {"_path": "bin/other", "path_type": "hardlink", "sha256": "1" * 64, "sha256_in_prefix": "2" * 64},
            ],
            "paths_version": 1,
        },
    }
    (staging / "conda-meta").mkdir()
    (staging / "conda-meta" / "tool-1.0-0.json").write_text(json.dumps(meta, indent=2, sort_keys=True) + "\n")
    (staging / "conda-meta" / "history").write_text("==> x <==\n")

    relocate_prefix(staging, dest)

    moved_tool = (staging / "bin" / "tool").read_bytes()
    assert old not in moved_tool and str(dest).encode() in moved_tool
    written = json.loads((staging / "conda-meta" / "tool-1.0-0.json").read_text())
    paths = {p["_path"]: p for p in written["paths_data"]["paths"]}
    assert paths["bin/tool"]["sha256_in_prefix"] == hashlib.sha256(moved_tool).hexdigest()
    assert paths["bin/other"]["sha256_in_prefix"] == "2" * 64  # not moved: as it was
    lines = (site / "clitool-0.1.dist-info" / "RECORD").read_text().splitlines()
    moved_script = (staging / "bin" / "clitool").read_bytes()
    assert lines[0] == f"../../../bin/clitool,sha256={_b64(moved_script)},{len(moved_script)}"
    # A file that is no script keeps the hash the wheel gave it: the lock's RECORD digest compares those.
    assert lines[1] == f"clitool/where.txt,sha256={_b64(data)},{len(data)}"
    assert lines[2] == "clitool-0.1.dist-info/RECORD,,"


def test_a_prefix_named_in_non_ascii_letters_gets_a_staging_folder_of_its_byte_length(tmp_path: Path) -> None:
    """``rebuild --target conda --prefix 'envs/ünï env'`` built the prefix and then failed, exit 4: the staging
    folder had as many characters as the name, not as many bytes (``cannot move ...: the paths differ in length``)."""
    dest = tmp_path / "my envs" / "ünï env"
    dest.parent.mkdir()
    holder = tmp_path / "holder"
    holder.mkdir()
    staging = staging_prefix(dest, holder)
    assert staging.parent == dest.parent and staging.is_dir()
    assert len(os.fsencode(staging)) == len(os.fsencode(dest))
    (staging / "bin").mkdir()
    (staging / "bin" / "tool").write_text(f"#!/bin/sh\necho {staging}\n", encoding="utf-8")
    relocate_prefix(staging, dest)
    assert (staging / "bin" / "tool").read_text(encoding="utf-8") == f"#!/bin/sh\necho {dest}\n"


def test_a_prefix_in_a_folder_whose_name_holds_a_quote_names_it_in_the_scripts_uv_quoted(tmp_path: Path) -> None:
    """A prefix rebuilt into ``it's here/env``: uv writes a pip console script's ``/bin/sh`` launcher (a path with
    a space) with the staging folder single-quoted, each ``'`` as ``'"'"'``, which the move's rewrite of the plain
    path did not find: the script ran the staging folder's Python, gone by then (``not found``)."""
    folder = tmp_path / "it's here"
    staging, dest = folder / ".st", folder / "env"
    quoted = str(staging).replace("'", "'\"'\"'")
    launcher = f"#!/bin/sh\n'''exec' '{quoted}/bin/python' \"$0\" \"$@\"\n' '''\nimport clitool\n"
    (staging / "bin").mkdir(parents=True)
    (staging / "bin" / "clitool").write_text(launcher)
    relocate_prefix(staging, dest)
    assert (staging / "bin" / "clitool").read_text() == launcher.replace(quoted, str(dest).replace("'", "'\"'\"'"))


@pytest.mark.parametrize(
    ("folder", "name"),
    [
        ("plain", "my env"),  # the staging folder beside it has no space: the #! line the kernel cut at it
        ('say "hi" $x `y`', "env"),  # pip's /bin/sh launcher holds the path raw between double quotes
    ],
)
def test_a_console_script_of_a_prefix_moved_into_an_awkward_folder_runs(tmp_path: Path, folder: str, name: str) -> None:
    """The prefix is built beside ``--prefix`` in a folder of the same length named in letters and digits, then moved:
    a pip console script's ``#!`` line, or its ``/bin/sh`` launcher, was rewritten to the destination byte for byte,
    which a space cut (``#!/p/my env/bin/python``), or a ``"``, ``$`` or backtick broke between pip's double
    quotes. Each runs from the destination."""
    import subprocess
    import sys

    dest = tmp_path / folder / name
    dest.parent.mkdir(exist_ok=True)
    holder = tmp_path / "holder"
    holder.mkdir()
    staging = staging_prefix(dest, holder)
    (staging / "bin").mkdir()
    (staging / "bin" / "python").symlink_to(sys.executable)
    body = "import sys\nprint('cli ok', sys.argv[1:])\n"
    at = f"{staging}/bin/python"
    pips = f"#!/bin/sh\n'''exec' \"{at}\" \"$0\" \"$@\"\n' '''\n"  # pip's launcher, for a path with a space
    head = pips if " " in at else f"#!{at}\n"
    (staging / "bin" / "clitool").write_text(head + body)
    (staging / "bin" / "clitool").chmod(0o755)
    relocate_prefix(staging, dest)
    staging.rename(dest)
    ran = subprocess.run([dest / "bin" / "clitool", "a b"], capture_output=True, text=True, timeout=60)
    assert (ran.returncode, ran.stdout) == (0, "cli ok ['a b']\n"), ran
