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
# The other cli modules a command's help may import: the plug-in table (names, flags, descriptions of rebuild
# targets and import formats), and verify's (light) command module, whose report rebuild prints.
TABLE = "envsnap.cli._plugin_table"
ALSO = {"check": {TABLE}, "import": {TABLE}, "rebuild": {TABLE, "envsnap.cli.verify"}}

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


@pytest.mark.parametrize("command", sorted(command_names()))
def test_a_commands_help_imports_no_implementation(command: str) -> None:
    """check, rebuild and import too: their plug-ins' names, flags and descriptions come from
    envsnap/cli/_plugin_table.py, not from loading every rebuild target (the docker and conda stacks) or importer."""
    modules = imported(command, "--help")
    assert heavy(modules) == []
    # Only its own command module: the other commands are not even imported.
    assert {m for m in modules if m.startswith("envsnap.cli.") and m != "envsnap.cli._output"} == {
        f"envsnap.cli.{command_names()[command]}",
        *ALSO.get(command, ()),
    }


def test_the_plugin_table_is_the_registries() -> None:
    """The static table the parsers read never drifts from the plug-ins it describes."""
    from envsnap import importers
    from envsnap.cli import _plugin_table as table
    from envsnap.compat import HOST
    from envsnap.rebuild import REGISTRY, check_targets

    assert table.HOST == HOST
    assert (table.HOST, *table.TARGET_DEST) == check_targets()
    assert {name: target.default_dest for name, target in REGISTRY.items()} == table.TARGET_DEST
    flags = {name: target.options.flags() for name, target in REGISTRY.items()}
    assert all(settings.pop("default") is None for each in flags.values() for settings in each.values())
    assert flags == table.TARGET_FLAGS
    assert list(table.IMPORT_FORMATS.items()) == [(name, imp.description) for name, imp in importers.REGISTRY.items()]


def test_fleet_prolog_without_a_lock_imports_no_implementation(monkeypatch: pytest.MonkeyPatch) -> None:
    """A Slurm prolog runs before every job on every node: with no lock to check it is a no-op, and a quick one."""
    monkeypatch.delenv("ENVSNAP_LOCK", raising=False)
    assert heavy(imported("fleet", "prolog")) == []
    monkeypatch.setenv("ENVSNAP_LOCK", "")
    assert heavy(imported("fleet", "prolog")) == []
