"""The artifact's files, made from a sample lock without the network: what a reviewer copies out of them works
as written, and a stranger's values stay values in every sink."""

from __future__ import annotations

import shlex
from pathlib import Path

from testutil import sample_lock

from envsnap import lockfile
from envsnap.artifacts.bundle import Bundle
from envsnap.paper import artifact
from envsnap.paper.metadata import ArtifactMeta, Author


def bundle_of(tmp_path: Path) -> Bundle:
    root = tmp_path / "bundle"
    root.mkdir()
    lockfile.dump(sample_lock(seal=True), root / "envsnap.lock")
    return Bundle(root)


META = ArtifactMeta(title="Reproducing Table 2", authors=(Author("Ada Lovelace"),), license="MIT")


def test_reproducing_md_commands_run_as_copied_and_no_backslash_reaches_its_prose(tmp_path: Path) -> None:
    # The rerun line was `envsnap rerun \`runs/run.toml\``: pasted into a shell, the backquotes ran the record
    # as a command. The disk and time lines showed "\`envsnap check\`" (a value's own Markdown, escaped again).
    record = "runs/$(id) `x`.toml"
    text = artifact._reproducing(bundle_of(tmp_path), META, [{"record": record}], grade="Bundled")
    block = text.split("```sh\n", 1)[1].split("```", 1)[0]
    commands = [shlex.split(line, comments=True) for line in block.splitlines() if line.strip()]
    assert ["envsnap", "rerun", record] in commands
    assert ["envsnap", "check", "envsnap.lock"] in commands
    assert "\\`" not in text
    assert text.startswith("# Reproducing Table 2: how to reproduce\n")
