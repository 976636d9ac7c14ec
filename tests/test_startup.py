"""Start-up: ``envsnap --help``, ``--version`` and a command's ``--help`` import no command's implementation
(issue 18). The time itself is measured in bench/startup.py, never asserted here."""

from __future__ import annotations

import subprocess
import sys

import pytest

from envsnap.cli import command_names

# What a command's work needs and its help does not: every layer above core, and the heavy core modules (the
# model's dataclasses, the TOML lockfile, packaging through the grammar, the subprocess runner).
IMPLEMENTATION = (
    "envsnap.probes",
    "envsnap.compare",
    "envsnap.artifacts",
    "envsnap.dockerfile",
    "envsnap.compat",
    "envsnap.export",
    "envsnap.importers",
    "envsnap.rebuild",
    "envsnap.fleet",
    "envsnap.runs",
    "envsnap.paper",
    "envsnap.api",
    "envsnap.model",
    "envsnap.lockfile",
    "envsnap.grammar",
    "envsnap._runner",
)
# A command whose options are its plug-ins' (rebuild's --target and each target's flags, check's --target, import's
# --from) loads that registry to list them; its help may import the registry's members, nothing else's.
REGISTRY_COMMANDS = {"check", "rebuild", "import"}

SCRIPT = """
import sys
from envsnap.cli import main
try:
    main(sys.argv[1:])
except SystemExit:
    pass
sys.stdout.flush()
print("\\n".join(sorted(m for m in sys.modules if m.startswith("envsnap"))), file=sys.stderr)
"""


def imported(*argv: str) -> set[str]:
    done = subprocess.run([sys.executable, "-c", SCRIPT, *argv], capture_output=True, text=True, check=True)
    return {line for line in done.stderr.splitlines() if line.startswith("envsnap")}


def heavy(modules: set[str]) -> list[str]:
    return sorted(m for m in modules if m == "envsnap.api" or m.startswith(IMPLEMENTATION))


@pytest.mark.parametrize("argv", [("--help",), ("--version",), (), ("no-such-command",)])
def test_top_level_help_and_version_import_no_command(argv: tuple[str, ...]) -> None:
    assert heavy(imported(*argv)) == []


@pytest.mark.parametrize("command", sorted(set(command_names()) - REGISTRY_COMMANDS))
def test_a_commands_help_imports_no_implementation(command: str) -> None:
    modules = imported(command, "--help")
    assert heavy(modules) == []
    # Only its own command module: the other commands are not even imported.
    assert {m for m in modules if m.startswith("envsnap.cli.") and m != "envsnap.cli._output"} == {
        f"envsnap.cli.{command_names()[command]}"
    }


@pytest.mark.parametrize("command", sorted(REGISTRY_COMMANDS))
def test_a_registry_commands_help_imports_no_other_command(command: str) -> None:
    modules = imported(command, "--help")
    # rebuild prints verify's report with verify's (light) command module
    assert {m for m in modules if m.startswith("envsnap.cli.") and m != "envsnap.cli._output"} <= {
        f"envsnap.cli.{command_names()[command]}",
        "envsnap.cli.verify",
    }
    assert "envsnap.fleet" not in modules and "envsnap.runs" not in modules


def test_fleet_prolog_without_a_lock_imports_no_implementation(monkeypatch: pytest.MonkeyPatch) -> None:
    """A Slurm prolog runs before every job on every node: with no lock to check it is a no-op, and a quick one."""
    monkeypatch.delenv("ENVSNAP_LOCK", raising=False)
    assert heavy(imported("fleet", "prolog")) == []
    monkeypatch.setenv("ENVSNAP_LOCK", "")
    assert heavy(imported("fleet", "prolog")) == []
