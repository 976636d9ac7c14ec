"""The parts of envsnap fleet that need no cluster: hostlists, FLEET.toml, node answers as untrusted input, the
envsnap the nodes run, the prolog's no-op and the errors when Slurm is absent."""

from __future__ import annotations

import dataclasses
import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import gpu_fakes
import pytest
from test_startup import imported
from testutil import locks_for_this_host, python_at, sample_lock

from envsnap import lockfile
from envsnap.compare.verify import Difference
from envsnap.fleet import FACTS, fleetfile, hostlist, node_command
from envsnap.fleet.report import FleetReport, NodeResult, from_run
from envsnap.fleet.slurm import NodeRun, NodeState
from envsnap.model import (
    Framework,
    Gpu,
    Hardware,
    Nvidia,
    PythonPackage,
    Snapshot,
    System,
    SystemLibrary,
    SystemPackage,
)
from envsnap.probes.hostlibs import PackageDatabase


@pytest.mark.parametrize(
    ("names", "expected"),
    [
        (["node1", "node2", "node4"], "node[1-2,4]"),
        (["n01", "n02", "n03", "gpu7"], "gpu7,n[01-03]"),
        (["n9", "n10"], "n[9-10]"),
        # A zero-padded range goes on past its padding: it read "n10,n09", out of order and two groups.
        (["n10", "n09"], "n[09-10]"),
        (["n08", "n10", "n09", "n100"], "n100,n[08-10]"),
        (["login"], "login"),
        (["n3"], "n3"),
    ],
)
def test_hostlist_compress(names: list[str], expected: str) -> None:
    assert hostlist.compress(names) == expected


def _node(driver: str, demo: str, libc_arch: str = "amd64") -> Any:
    return sample_lock(
        PythonPackage("torch", "2.4.0"),
        PythonPackage("fleet-demo", demo),
        nvidia=Nvidia(driver_version=driver, cuda_driver_version="12.4", source="nvml"),
        hardware=Hardware(memory_mib=1000, gpus=(Gpu(0, "A100", "8.0", 81920), Gpu(1, "A100", "8.0", 81920))),
        system=System(
            "dpkg",
            (SystemPackage("dpkg", "libc6", "2.36-9", libc_arch), SystemPackage("dpkg", "libc6", "2.36-9", "i386")),
        ),
    )


def test_a_fleet_files_bidi_characters_are_escapes_in_its_text(tmp_path: Path) -> None:
    """A node's free text (its GPU's name) with U+202E is written as \\u202e: FLEET.toml shows as it reads."""
    odd = dataclasses.replace(_node("550.54.14", "1.0.0"), hardware=Hardware(gpus=(Gpu(0, "A100 \u202eevil\u2069"),)))
    path = tmp_path / "fleet.toml"
    fleetfile.dump(fleetfile.FleetFile({"n1": _node("550.54.14", "1.0.0"), "n2": odd}), path)
    text = path.read_text(encoding="utf-8")
    assert "\u202e" not in text and "\u2069" not in text
    assert 'name = "A100 \\u202eevil\\u2069"' in text
    assert fleetfile.load(path).nodes["n2"].hardware.gpus[0].name == "A100 \u202eevil\u2069"


def test_fleet_file_keeps_the_common_part_once_and_round_trips(tmp_path: Path) -> None:
    nodes = {"n1": _node("550.54.14", "1.0.0"), "n2": _node("550.54.14", "1.0.0"), "n3": _node("470.57.02", "1.0.1")}
    fleet = fleetfile.FleetFile(nodes, {"n4": "no answer within 5 s"})
    path = tmp_path / "fleet.toml"
    fleetfile.dump(fleet, path)
    doc = fleetfile.document(fleet)
    assert doc["common"]["python"]["packages"]["torch"]["version"] == "2.4.0"
    assert doc["common"]["system"]["packages"]["libc6/i386"]["version"] == "2.36-9"  # keyed by name and arch
    assert doc["nodes"]["n3"] == {
        "nvidia": {"driver_version": "470.57.02"},
        "python": {"packages": {"fleet-demo": {"version": "1.0.1"}}},
    }
    assert doc["nodes"]["n1"]["nvidia"] == {"driver_version": "550.54.14"}
    back = fleetfile.load(path)
    assert back.unreachable == {"n4": "no answer within 5 s"}
    for name, snap in nodes.items():  # the same lock, but for its time and digest (and the order of its lists)
        assert fleetfile.keyed(lockfile.to_dict(back.nodes[name])) == fleetfile.keyed(lockfile.to_dict(snap))


def test_fleet_diff_names_each_changed_value(tmp_path: Path) -> None:
    before = fleetfile.FleetFile({"n1": _node("550.54.14", "1.0.0"), "n2": _node("550.54.14", "1.0.0")})
    after = fleetfile.FleetFile(
        {"n1": _node("550.54.14", "1.0.0"), "n2": _node("560.35.03", "1.0.2")}, {"n3": "Slurm reports the node down"}
    )
    described = [c.describe() for c in fleetfile.diff(before, after)]
    assert described == [
        "n2: nvidia.driver_version: 550.54.14 -> 560.35.03",
        "n2: python.packages[fleet-demo].version: 1.0.0 -> 1.0.2",
        "n3: node added: unreachable: Slurm reports the node down",
    ]
    assert fleetfile.diff(before, before) == []


def test_fleet_diff_says_a_change_many_nodes_share_once(tmp_path: Path, cli: Callable[..., Any]) -> None:
    """A driver upgraded on every node read one line per node (a hundred identical lines on a hundred nodes, the
    one node that was missed hidden among them). Nodes with the same change share one line, in hostlist notation;
    --json keeps one entry per node."""
    old = {f"n{i}": _node("550.54.14", "1.0.0") for i in range(1, 6)}
    new = {f"n{i}": _node("560.35.03", "1.0.0") for i in range(1, 6)}
    new["n3"] = _node("550.54.14", "1.0.2")
    fleetfile.dump(fleetfile.FleetFile(old), tmp_path / "old.toml")
    fleetfile.dump(fleetfile.FleetFile(new, {"n6": "Slurm reports the node down"}), tmp_path / "new.toml")
    res = cli("fleet", "diff", str(tmp_path / "old.toml"), str(tmp_path / "new.toml"))
    assert (res.code, res.out) == (
        1,
        "n[1-2,4-5]: nvidia.driver_version: 550.54.14 -> 560.35.03\n"
        "n3: python.packages[fleet-demo].version: 1.0.0 -> 1.0.2\n"
        "n6: node added: unreachable: Slurm reports the node down\n",
    ), res
    res = cli("fleet", "diff", str(tmp_path / "old.toml"), str(tmp_path / "new.toml"), "--json")
    assert [c["node"] for c in json.loads(res.out)["changes"]] == ["n1", "n2", "n3", "n4", "n5", "n6"]


def test_fleet_diff_says_a_package_upgrade_and_a_node_back_in_natural_lines(
    tmp_path: Path, cli: Callable[..., Any]
) -> None:
    """One package upgraded read two lines per node group, its ``version`` and its ``record_digest`` (which changes
    with any version); a node that came back read ``n5: node: unreachable: ... -> captured``, ``node:`` a path of no
    table. The upgrade is its version's line alone, and a node's capture state reads as itself; --json keeps every
    value and the ``node`` path."""

    def node(demo: str, digest: str, driver: str = "550.54.14") -> Any:
        lock = _node(driver, demo)
        packages = tuple(
            dataclasses.replace(p, record_digest=digest) if p.name == "fleet-demo" else p for p in lock.python.packages
        )
        return dataclasses.replace(lock, python=dataclasses.replace(lock.python, packages=packages))

    old = {f"n{i}": node("1.0.0", "sha256:" + "a" * 64) for i in range(1, 5)}
    new = {f"n{i}": node("1.0.1", "sha256:" + "b" * 64) for i in range(1, 6)}
    new["n4"] = node("1.0.0", "sha256:" + "c" * 64)  # the same version, rebuilt: the digest is the change
    fleetfile.dump(fleetfile.FleetFile(old, {"n5": "no answer within 120 s"}), tmp_path / "old.toml")
    fleetfile.dump(fleetfile.FleetFile(new, {"n6": "Slurm reports the node down"}), tmp_path / "new.toml")
    fleetfile.dump(fleetfile.FleetFile(old, {"n6": "no answer within 120 s"}), tmp_path / "back.toml")
    res = cli("fleet", "diff", str(tmp_path / "old.toml"), str(tmp_path / "new.toml"))
    assert (res.code, res.out) == (
        1,
        "n[1-3]: python.packages[fleet-demo].version: 1.0.0 -> 1.0.1\n"
        f"n4: python.packages[fleet-demo].record_digest: sha256:{'a' * 64} -> sha256:{'c' * 64}\n"
        "n5: unreachable: no answer within 120 s -> captured\n"
        "n6: node added: unreachable: Slurm reports the node down\n",
    ), res
    res = cli("fleet", "diff", str(tmp_path / "new.toml"), str(tmp_path / "back.toml"))
    assert "n5: node removed (was captured)\n" in res.out, res.out
    assert "n6: unreachable: Slurm reports the node down -> unreachable: no answer within 120 s\n" in res.out, res.out
    res = cli("fleet", "diff", str(tmp_path / "old.toml"), str(tmp_path / "new.toml"), "--json")
    paths = [(c["node"], c["path"]) for c in json.loads(res.out)["changes"]]
    assert ("n1", "python.packages[fleet-demo].record_digest") in paths and ("n5", "node") in paths, paths


def test_fleet_diff_says_an_entry_a_node_gained_or_lost_in_one_line(tmp_path: Path, cli: Callable[..., Any]) -> None:
    """A package gone from a node, a library it lost, a GPU fallen off the bus read one line per field of the entry
    (``python.packages[fleet-demo].name removed (was fleet-demo)``, ``.version removed``, ``.installer ...``): a
    cluster's diff of thousands of lines, the name of a thing among them as a change. One line each, what it was
    or is: its version, else its name, else its path."""
    lib = SystemLibrary("libcudnn.so.9", "/usr/lib/x86_64-linux-gnu/libcudnn.so.9", "libcudnn9", ("torch",))
    full = _node("550.54.14", "1.0.0")
    full = dataclasses.replace(full, system=dataclasses.replace(full.system, libraries=(lib,)))
    gone = sample_lock(
        PythonPackage("torch", "2.4.0"),
        nvidia=full.nvidia,
        hardware=Hardware(memory_mib=1000, gpus=(Gpu(0, "A100", "8.0", 81920),)),
        system=dataclasses.replace(full.system, libraries=()),
    )
    fleetfile.dump(fleetfile.FleetFile({"n1": full, "n2": full}), tmp_path / "old.toml")
    fleetfile.dump(fleetfile.FleetFile({"n1": full, "n2": gone}), tmp_path / "new.toml")
    res = cli("fleet", "diff", str(tmp_path / "old.toml"), str(tmp_path / "new.toml"))
    assert (res.code, res.out) == (
        1,
        "n2: hardware.gpus[1] removed (was A100)\n"
        "n2: python.packages[fleet-demo] removed (was 1.0.0)\n"
        "n2: system.libraries[libcudnn.so.9] removed (was /usr/lib/x86_64-linux-gnu/libcudnn.so.9)\n",
    ), res
    res = cli("fleet", "diff", str(tmp_path / "new.toml"), str(tmp_path / "old.toml"), "--json")
    assert json.loads(res.out)["changes"][1] == {
        "node": "n2",
        "path": "python.packages[fleet-demo]",
        "old": "",
        "new": "1.0.0",
    }


def test_fleet_diff_says_a_node_captured_in_neither_file_was_not_compared(
    tmp_path: Path, cli: Callable[..., Any]
) -> None:
    """A node unreachable in both files has no environment to compare: the diff said "the same nodes with the same
    environments", exit 0, a drift gate passing on a node it never saw."""
    nodes = {"n1": _node("550.54.14", "1.0.0")}
    fleetfile.dump(fleetfile.FleetFile(nodes, {"n2": "Slurm reports the node down"}), tmp_path / "old.toml")
    fleetfile.dump(fleetfile.FleetFile(nodes, {"n2": "no answer within 120 s"}), tmp_path / "new.toml")
    fleetfile.dump(fleetfile.FleetFile(nodes, {"n2": "no answer within 120 s"}), tmp_path / "same.toml")
    old, new, same = (str(tmp_path / name) for name in ("old.toml", "new.toml", "same.toml"))
    res = cli("fleet", "diff", new, same)
    assert (res.code, res.out) == (
        1,
        f"{new} and {same}: the same environments on the 1 node captured in both\n"
        "n2: not compared: no capture in either file (unreachable: no answer within 120 s)\n",
    ), res
    res = cli("fleet", "diff", old, new)
    assert (res.code, res.out) == (
        1,
        "n2: unreachable: Slurm reports the node down -> unreachable: no answer within 120 s\n"
        "n2: not compared: no capture in either file (old: unreachable: Slurm reports the node down; new: unreachable: "
        "no answer within 120 s)\n",
    ), res
    res = cli("fleet", "diff", new, same, "--json")
    assert json.loads(res.out)["not_compared"] == [
        {"node": "n2", "old": "no answer within 120 s", "new": "no answer within 120 s"}
    ]
    # A rack drained for one cause then and another now: one line, with both causes (the new one alone hid the old).
    fleetfile.dump(fleetfile.FleetFile(nodes, dict.fromkeys(["n3", "n4"], "drained (disk)")), tmp_path / "a.toml")
    fleetfile.dump(fleetfile.FleetFile(nodes, dict.fromkeys(["n3", "n4"], "drained (psu)")), tmp_path / "b.toml")
    res = cli("fleet", "diff", str(tmp_path / "a.toml"), str(tmp_path / "b.toml"))
    assert res.out.splitlines()[-1] == (
        "n[3-4]: not compared: no capture in either file (old: unreachable: drained (disk); new: unreachable: "
        "drained (psu))"
    ), res
    # A rack down in both files is one line, not one per node.
    rack = dict.fromkeys(["n3", "n4", "n6"], "Slurm reports the node down (PDU)")
    fleetfile.dump(fleetfile.FleetFile(nodes, rack), tmp_path / "rack.toml")
    res = cli("fleet", "diff", str(tmp_path / "rack.toml"), str(tmp_path / "rack.toml"))
    assert res.out.splitlines()[1:] == [
        "n[3-4,6]: not compared: no capture in either file (unreachable: Slurm reports the node down (PDU))"
    ], res
    both = str(tmp_path / "both.toml")
    fleetfile.dump(fleetfile.FleetFile(nodes), both)
    res = cli("fleet", "diff", both, both)
    assert (res.code, res.out) == (0, f"{both} and {both}: the same nodes with the same environments\n"), res


def test_a_node_name_with_a_long_run_of_digits_is_compared_not_a_traceback(
    tmp_path: Path, cli: Callable[..., Any]
) -> None:
    """A FLEET.toml is untrusted: a node named with 5,000 digits (over the 4,300 Python turns into a number) ended
    fleet diff in a traceback, exit 1, as ordering and grouping the nodes read each run of digits as a number."""
    long = "n" + "1" * 5000
    fleetfile.dump(fleetfile.FleetFile({"n1": _node("550.54.14", "1.0.0")}), tmp_path / "old.toml")
    text = (tmp_path / "old.toml").read_text(encoding="utf-8")
    assert '"n1"' in text and "[nodes.n1]" in text  # the name quoted, as the bounded reader reads a key of digits
    text = text.replace('"n1"', f'"{long}"').replace("[nodes.n1]", f'[nodes."{long}"]')
    (tmp_path / "new.toml").write_text(text, encoding="utf-8")
    res = cli("fleet", "diff", str(tmp_path / "old.toml"), str(tmp_path / "new.toml"))
    assert res.code == 1 and "Traceback" not in res.err and res.err == "", res
    assert res.out == f"n1: node removed (was captured)\n{long}: node added: captured\n", res
    assert hostlist.ordered([long, "n2", "n10"]) == ["n2", "n10", long]
    assert hostlist.compress([long, "n2", "n3"]) == f"{long},n[2-3]"  # a name of too many digits for a range


def test_a_fleet_file_envsnap_writes_of_a_node_named_with_65_digits_loads(
    tmp_path: Path, cli: Callable[..., Any]
) -> None:
    """fleet capture wrote such a node's name as a bare key ([nodes.111...]) and its own reader refused the file
    ("a number of more than 64 digits"): what envsnap writes it reads, the key quoted."""
    long, down = "1" * 65, "n" + "_" * 70
    fleet = fleetfile.FleetFile({long: _node("550.54.14", "1.0.0"), "n1": _node("550.54.14", "2.0.0")}, {down: "down"})
    path = tmp_path / "fleet.toml"
    fleetfile.dump(fleet, path)
    res = cli("fleet", "diff", str(path), str(path))
    assert (res.code, res.err) == (1, ""), res  # 1: the unreachable node is not compared
    assert res.out.splitlines()[1:] == [f"{down}: not compared: no capture in either file (unreachable: down)"], res
    loaded = fleetfile.load(path)
    assert sorted(loaded.nodes) == sorted([long, "n1"]) and loaded.unreachable == {down: "down"}
    text = path.read_text(encoding="utf-8")
    assert f'[nodes."{long}".' in text and f'"{down}" = "down"' in text


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[fleet]\nformat_version = 2\nnodes = []\n", "newer than this envsnap understands"),
        ('[fleet]\nnodes = ["a"]\n', "format_version: missing"),
        ('[fleet]\nformat_version = 1\nnodes = ["a", "a"]\n', "distinct node names"),
        ('[fleet]\nformat_version = 1\nnodes = ["a"]\n[nodes.b]\n', "not in fleet.nodes"),
        (
            '[fleet]\nformat_version = 1\nnodes = ["a"]\n[common.envsnap]\nschema_version = 1\n'
            '[nodes.a.python]\nkind = "bogus"\n',
            "node a",
        ),
        ("[fleet\n", "not valid TOML"),
        # A lock given where a FLEET.toml belongs: it said "fleet: not a table".
        ('[envsnap]\ngenerator = "envsnap 0.1.0"\n', "no [fleet] table: not a FLEET.toml"),
        ('[fleet]\nformat_version = 0\nnodes = ["a"]\n', "not a format version"),
        ('[fleet]\nformat_version = 1\nnodes = ["a\\nb"]\n', "distinct node names"),
        ('[fleet]\nformat_version = 1\nnodes = ["a"]\nunreachable = { "x\\u001b[2J" = "down" }\n', "node name"),
        ('[fleet]\nformat_version = 1\nnodes = ["a"]\nunreachable = { a = "down" }\n', "in fleet.nodes too"),
    ],
)
def test_a_bad_fleet_file_is_one_line_and_exit_2(
    tmp_path: Path, cli: Callable[..., Any], text: str, message: str
) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text(text)
    res = cli("fleet", "diff", str(bad), str(bad))
    assert res.code == 2, res
    assert message in res.err and len(res.err.strip().splitlines()) == 1 and "Traceback" not in res.err


def _answer(**changes: Any) -> dict[str, Any]:
    answer: dict[str, Any] = {
        "format": 1,
        "node": "n1",
        "environment": "venv",
        "lock_digest": "sha256:ab",
        "verdict": "compatible",
        "facts": dict.fromkeys(FACTS, ""),
        "check": {
            "findings": [
                {
                    "severity": "ok",
                    "component": "Python",
                    "needed": "3.11",
                    "found": "3.11",
                    "remedy": "",
                    "rule": "python",
                }
            ]
        },
        "python_layer": {
            "identical": True,
            "digest": "sha256:00",
            "packages_checked": 1,
            "mismatches": 0,
            "differences": [],
        },
    }
    answer.update(changes)
    return answer


def _run(stdout: str, **kw: Any) -> NodeRun:
    return NodeRun("n1", kw.pop("returncode", 0), stdout, kw.pop("stderr", ""), 0.5, **kw)


def test_a_valid_answer_is_read() -> None:
    result = from_run(_run(json.dumps(_answer())), lock_digest="sha256:ab", timeout=5)
    assert result.verdict == "compatible" and result.answered


@pytest.mark.parametrize(
    ("stdout", "why"),
    [
        (json.dumps(_answer(node="n2")), "names itself"),
        (json.dumps(_answer(lock_digest="sha256:cd")), "another lock"),
        (json.dumps(_answer(format=7)), "format 7"),
        (json.dumps(_answer(facts={"driver": 5})), "not a string"),
        (json.dumps(_answer(verdict="great")), "verdict"),
        ('{"format": 1, "format": 1}', "appears twice"),
        ("{" * 5000, "nested more than"),
        (json.dumps(_answer(check={"findings": [{"severity": "fatal"}]})), "severity"),
    ],
)
def test_an_answer_that_is_not_one_makes_the_node_invalid_not_a_crash(stdout: str, why: str) -> None:
    result = from_run(_run(stdout), lock_digest="sha256:ab", timeout=5)
    assert result.verdict == "invalid" and why in result.reason, result


def test_an_answer_whose_differences_are_null_counts_its_mismatches_not_a_traceback() -> None:
    """``"differences": null`` was read as no list for the failures, then ``len(None)`` for the count: a
    TypeError ended the whole fleet check (exit 1) on one node's answer."""
    layer = {"identical": False, "digest": "sha256:00", "packages_checked": 3, "mismatches": 2, "differences": None}
    result = from_run(_run(json.dumps(_answer(python_layer=layer))), lock_digest="sha256:ab", timeout=5)
    assert result.verdict == "incompatible", result
    assert [(p.component, p.found) for p in result.failures] == [("Python layer", "2 more differences")]


def test_a_node_that_lies_about_being_better_is_judged_by_its_findings() -> None:
    failing = _answer(
        check={
            "findings": [
                {
                    "severity": "fail",
                    "component": "NVIDIA driver",
                    "needed": ">= 530",
                    "found": "470",
                    "remedy": "upgrade",
                    "rule": "driver",
                }
            ]
        }
    )
    assert from_run(_run(json.dumps(failing)), lock_digest="sha256:ab", timeout=5).verdict == "incompatible"


def test_a_long_envsnap_error_that_srun_cut_into_pieces_is_the_node_answering() -> None:
    """srun cuts a line of more than about 1 KB into pieces: the last piece of envsnap's error (an error quoting a
    long value) lost its ``envsnap: error:`` and the node read unreachable; its reason was cut at 300 characters
    without saying so."""
    line = "envsnap: error: " + "z" * 5000
    pieces = "\n".join(line[i : i + 1024] for i in range(0, len(line), 1024))
    stderr = f"{pieces}\nsrun: error: n1: task 0: Exited with exit code 2\n"
    result = from_run(_run("", returncode=2, stderr=stderr), lock_digest="sha256:ab", timeout=5)
    assert result.verdict == "invalid", result
    assert result.reason == line[:299] + "\N{HORIZONTAL ELLIPSIS}"


def test_no_answer_is_unreachable_with_what_srun_said() -> None:
    silent = from_run(
        _run("", returncode=1, stderr="srun: error: Task launch failed on node n1: Communication connection failure\n"),
        lock_digest="sha256:ab",
        timeout=5,
    )
    assert silent.verdict == "unreachable" and "Communication connection failure" in silent.reason
    failed = from_run(
        _run("", returncode=2, stderr="envsnap: error: /shared/x.lock: no such lockfile\n"),
        lock_digest="sha256:ab",
        timeout=5,
    )
    assert failed.verdict == "invalid" and failed.reason == "envsnap: error: /shared/x.lock: no such lockfile"
    missing = from_run(
        _run(
            "",
            returncode=2,
            stderr="slurmstepd-n1: error: execve(): /opt/envsnap: No such file or "
            "directory\nsrun: error: n1: task 0: Exited with exit code 2\n",
        ),
        lock_digest="sha256:ab",
        timeout=5,
    )
    # srun reached the node; its envsnap is missing there: said as the cause, not "unreachable".
    assert (missing.verdict, missing.reason) == (
        "invalid",
        "envsnap not found at /opt/envsnap on the node (--envsnap PATH names the one the nodes have)",
    )
    late = from_run(_run("", returncode=-9, timed_out=True), lock_digest="sha256:ab", timeout=5)
    # A frozen slurmd or a check that hangs said nothing: the line says what to look at and what gives it longer.
    assert (late.verdict, late.reason) == (
        "unreachable",
        "no answer within 5 s (its slurmd frozen, or its check hung there? scontrol show node NODE says what Slurm "
        "sees of it; --timeout 10 or more gives it longer)",
    )


def test_an_envsnap_whose_interpreter_the_node_lacks_names_that_interpreter() -> None:
    """An envsnap the node has, but whose #! interpreter it lacks (a venv on the shared file system whose base
    Python is not installed on that node): slurmstepd says ``execve(): bad interpreter(PATH): ...``, which read
    ``envsnap not found at bad interpreter(/opt/py/bin/python3) on the node``. It names the interpreter."""
    stderr = (
        "slurmstepd-n1: error: execve(): bad interpreter(/opt/py/bin/python3): No such file or directory\n"
        "srun: error: n1: task 0: Exited with exit code 2\n"
    )
    lacking = from_run(_run("", returncode=2, stderr=stderr), lock_digest="sha256:ab", timeout=5)
    assert (lacking.verdict, lacking.reason) == (
        "invalid",
        "envsnap cannot be started on the node: the interpreter its #! line names, /opt/py/bin/python3, is not "
        "there (--envsnap PATH names one the nodes can run)",
    )
    denied = from_run(
        _run("", returncode=13, stderr=stderr.replace("No such file or directory", "Permission denied")),
        lock_digest="sha256:ab",
        timeout=5,
    )
    assert denied.reason == (
        "envsnap cannot be started on the node: the interpreter its #! line names, /opt/py/bin/python3, cannot be "
        "run there: Permission denied (--envsnap PATH names one the nodes can run)"
    )


def test_a_node_that_missed_the_deadline_says_what_it_was_waiting_on_and_what_it_said() -> None:
    """A node whose task was still waiting on its NVIDIA driver at the deadline read only "no answer within 12 s":
    its standard error until then was dropped. Its notes say what it waited on, with what ends that wait in time,
    and its last other line is kept, escaped and cut (untrusted)."""
    waiting = "envsnap fleet node: waiting for nvml (at most 11.9 s)\n"
    hung = from_run(
        _run("", returncode=-9, timed_out=True, stderr="\x1b[2Jslurm says hi\n" + waiting),
        lock_digest="sha256:ab",
        timeout=12,
    )
    assert (hung.verdict, hung.reason) == (
        "unreachable",
        "no answer within 12 s: it was waiting for its NVIDIA driver (NVML, at most 11.9 s; a hung driver?); "
        "--gpu-timeout 6 ends that wait in time for the node to answer with its driver hung (--gpus none does "
        "not: the node asks NVML for every lock), or a longer --timeout gives it time; "
        "it said '\ufffd[2Jslurm says hi'",
    )
    # A wait within half the timeout: the node started late, the timeout is what is short.
    slow = from_run(_run("", returncode=-9, timed_out=True, stderr=waiting), lock_digest="sha256:ab", timeout=30)
    assert slow.reason == (
        "no answer within 30 s: it was waiting for its NVIDIA driver (NVML, at most 11.9 s; a hung driver?); "
        "a longer --timeout gives it time to answer after that wait"
    )
    # The driver answered: the node waits on nothing it named; a forged or malformed note is no wait.
    done = waiting + "envsnap fleet node: nvml answered\nenvsnap fleet node: waiting for nvml (at most soon s)\n"
    late = from_run(_run("", returncode=-9, timed_out=True, stderr=done), lock_digest="sha256:ab", timeout=12)
    assert late.reason.startswith("no answer within 12 s (its slurmd frozen, or its check hung there? "), late.reason
    # Notes are no part of why a task failed.
    failed = from_run(
        _run("", returncode=1, stderr="boom\n" + waiting + "srun: error: n1: task 0: Exited with exit code 1\n"),
        lock_digest="sha256:ab",
        timeout=12,
    )
    assert failed.reason == "its task exited with status 1 without an answer: boom", failed


def test_a_node_waiting_on_its_driver_and_its_interpreter_at_the_deadline_names_both() -> None:
    """The driver and the environment's interpreter are probed at once: a node still waiting on both at the
    deadline named only the driver, and the hung interpreter was found only after the driver was mended. Each
    pending wait is named, in the order the node began them."""
    stderr = (
        "envsnap fleet node: waiting for python (at most 110 s): /opt/env/bin/python\n"
        "envsnap fleet node: waiting for nvml (at most 11.9 s)\n"
    )
    hung = from_run(_run("", returncode=-9, timed_out=True, stderr=stderr), lock_digest="sha256:ab", timeout=12)
    assert hung.reason == (
        "no answer within 12 s: its environment's interpreter '/opt/env/bin/python' did not answer envsnap's probe in "
        "that time (the node waits for it at most 110 s; a hung interpreter, or a file system that does not "
        "answer?); and it was waiting for its NVIDIA driver (NVML, at most 11.9 s; a hung driver?); --gpu-timeout "
        "6 ends that wait in time for the node to answer with its driver hung (--gpus none does not: the node asks "
        "NVML for every lock), or a longer --timeout gives it time"
    ), hung.reason
    # One of them answered: the other alone is named.
    answered = from_run(
        _run("", returncode=-9, timed_out=True, stderr=stderr + "envsnap fleet node: nvml answered\n"),
        lock_digest="sha256:ab",
        timeout=12,
    )
    assert "interpreter '/opt/env/bin/python'" in answered.reason and "NVML" not in answered.reason, answered.reason


def test_a_task_that_ended_well_without_an_answer_is_invalid_not_unreachable() -> None:
    """An --envsnap that is no envsnap (a wrapper that drops its arguments, another program) ran on the node and
    exited 0 with no answer: the node read "unreachable: srun exit status 0, no answer", as if Slurm could not
    reach it. Its output is no answer: invalid, saying what it printed."""
    wrong = from_run(_run("usage: envsnap-wrapper LOCK\n", returncode=0), lock_digest="sha256:ab", timeout=5)
    assert (wrong.verdict, wrong.reason) == (
        "invalid",
        "its task ended (exit status 0) without an answer; it printed 'usage: envsnap-wrapper LOCK'",
    ), wrong
    silent = from_run(_run("", returncode=0), lock_digest="sha256:ab", timeout=5)
    assert (silent.verdict, silent.reason) == ("invalid", "its task ended (exit status 0) without an answer"), silent


def test_report_groups_nodes_and_puts_the_worst_first() -> None:
    facts = dict.fromkeys(FACTS, "x")
    old = {**facts, "driver": "470"}
    report = FleetReport(
        "l",
        "d",
        (
            NodeResult("n1", "compatible", facts),
            NodeResult("n2", "compatible", facts),
            NodeResult("n3", "incompatible", old),
            NodeResult("n4", "unreachable", reason="down"),
        ),
    )
    assert [g.hostlist for g in report.groups()] == ["n4", "n3", "n[1-2]"]
    assert report.verdict == "incompatible" and report.differing() == ["driver"]
    assert report.common()["driver"] == "x"
    data = report.to_dict()
    assert data["counts"] == {"unreachable": 1, "invalid": 0, "incompatible": 1, "warnings": 0, "compatible": 2}


def test_nodes_are_listed_in_their_numbers_order_not_their_text_s() -> None:
    """A cluster of ten nodes or more: node2 before node10 in the groups, the JSON and FLEET.toml (text order put
    node10 first)."""
    facts = dict.fromkeys(FACTS, "x")
    old = {**facts, "driver": "470"}
    names = ["node10", "node2", "node1", "gpu-b10", "gpu-b9"]
    report = FleetReport("l", "d", tuple(NodeResult(n, "incompatible", old) for n in names))
    (group,) = report.groups()
    assert group.nodes == ("gpu-b9", "gpu-b10", "node1", "node2", "node10")
    assert [n["node"] for n in report.to_dict()["nodes"]] == ["gpu-b9", "gpu-b10", "node1", "node2", "node10"]
    worse = FleetReport(
        "l", "d", (NodeResult("node10", "unreachable", reason="down"), NodeResult("node9", "unreachable", reason="x"))
    )
    assert [g.nodes for g in worse.groups()] == [("node9",), ("node10",)]
    fleet = fleetfile.FleetFile({n: _node("550.54.14", "1.0.0") for n in names}, {"node12": "down", "node3": "down"})
    document = fleetfile.document(fleet)
    assert document["fleet"]["nodes"] == ["gpu-b9", "gpu-b10", "node1", "node2", "node10"]
    assert list(document["nodes"]) == ["gpu-b9", "gpu-b10", "node1", "node2", "node10"]
    assert list(document["fleet"]["unreachable"]) == ["node3", "node12"]
    again = fleetfile.loads(fleetfile.dumps(fleet))
    assert [node for node, _ in fleetfile.by_cause(again)] == ["node[3,12]"]


def test_node_output_reaches_the_terminal_without_control_characters(capsys: pytest.CaptureFixture[str]) -> None:
    from envsnap.cli.fleet import print_report

    evil = dict.fromkeys(FACTS, "\x1b]0;owned\x07\x1b[31mred")
    answer = _answer(
        facts=evil,
        check={
            "findings": [
                {
                    "severity": "fail",
                    "component": "x\x1b[2J",
                    "needed": "a",
                    "found": "b\u202e",
                    "remedy": "[bold]r[/]",
                    "rule": "",
                }
            ]
        },
    )
    result = from_run(_run(json.dumps(answer)), lock_digest="sha256:ab", timeout=5)
    print_report(FleetReport("l", "sha256:ab", (result,)))
    out = capsys.readouterr().out
    assert "\x1b" not in out and "\u202e" not in out and "\x07" not in out
    assert "[bold]r[/]" in out  # text, never markup


def test_the_report_file_escapes_node_output_as_json_does(
    tmp_path: Path, cli: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    import envsnap.fleet

    lock = tmp_path / "envsnap.lock"
    lockfile.dump(sample_lock(), lock)
    evil = {**dict.fromkeys(FACTS, "x"), "driver": "550\u202egnp.exe\x9b31m\x7f"}
    answer = from_run(_run(json.dumps(_answer(facts=evil))), lock_digest="sha256:ab", timeout=5)
    monkeypatch.setattr(envsnap.fleet, "check_fleet", lambda *a, **k: FleetReport(str(lock), "sha256:ab", (answer,)))
    report = tmp_path / "report.json"
    res = cli("fleet", "check", str(lock), "-w", "n1", "-o", str(report), "--json")
    text = report.read_text()
    assert text == res.out  # the file is what --json prints
    assert not any(c in text for c in "\u202e\x9b\x7f"), text
    assert json.loads(text)["nodes"][0]["facts"]["driver"] == evil["driver"]  # the same value, escaped


def test_a_report_to_dash_is_the_json_on_standard_output(
    tmp_path: Path, cli: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """``fleet check LOCK -o -`` wrote the report into a file named ``-`` in the working directory and printed the
    table, where ``fleet capture -o -`` prints its file: a CI step that read standard output got no JSON."""
    import envsnap.fleet

    monkeypatch.chdir(tmp_path)
    lock = tmp_path / "envsnap.lock"
    lockfile.dump(sample_lock(), lock)
    answer = from_run(_run(json.dumps(_answer())), lock_digest="sha256:ab", timeout=5)
    monkeypatch.setattr(envsnap.fleet, "check_fleet", lambda *a, **k: FleetReport(str(lock), "sha256:ab", (answer,)))
    for extra in ((), ("--json",)):
        res = cli("fleet", "check", str(lock), "-w", "n1", "-o", "-", *extra)
        assert res.code == 0, res
        assert json.loads(res.out)["nodes"][0]["node"] == answer.node  # the report, once
        assert sorted(p.name for p in tmp_path.iterdir()) == ["envsnap.lock"]  # no file named '-'


def test_the_nodes_run_the_envsnap_given_else_the_same_path_else_path(tmp_path: Path) -> None:
    script = tmp_path / "envsnap"
    script.write_text("#!/bin/sh\n")
    script.chmod(0o755)
    assert node_command("/opt/envsnap/bin/envsnap") == ["/opt/envsnap/bin/envsnap"]
    assert node_command(None, str(script)) == [str(script)]
    assert node_command(None, "/x/site-packages/envsnap/__main__.py", "/usr/bin/python3") == [
        "/usr/bin/python3",
        "-m",
        "envsnap",
    ]
    assert node_command(None, "/usr/bin/something-else") == ["envsnap"]


def test_prolog_without_a_lock_does_nothing(cli: Callable[..., Any], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ENVSNAP_LOCK", raising=False)
    res = cli("fleet", "prolog")
    assert res.code == 0 and res.out == "" and res.err == ""


def test_prolog_of_a_lock_this_host_runs_says_so_in_one_line(
    tmp_path: Path, cli: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    lock = tmp_path / "envsnap.lock"
    assert cli("capture", "-o", str(lock)).code == 0
    monkeypatch.setenv("ENVSNAP_LOCK", str(lock))
    monkeypatch.delenv("SLURMD_NODENAME", raising=False)
    res = cli("fleet", "prolog")
    assert res.code == 0, res
    assert res.out.count("\n") == 1 and "can run" in res.out


def _alien_lock(tmp_path: Path, cli: Callable[..., Any]) -> Path:
    """A lock of this host's environment for a riscv64 machine: one this host cannot run."""
    here = tmp_path / "here.lock"
    assert cli("capture", "-o", str(here)).code == 0
    snap = lockfile.load(here)
    lock = tmp_path / "alien.lock"
    lockfile.dump(dataclasses.replace(snap, platform=dataclasses.replace(snap.platform, machine="riscv64")), lock)
    return lock


def test_prolog_of_a_lock_this_host_cannot_run_exits_3(
    tmp_path: Path, cli: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    lock = _alien_lock(tmp_path, cli)
    monkeypatch.delenv("SLURMD_NODENAME", raising=False)
    res = cli("fleet", "prolog", str(lock))
    assert res.code == 3, res
    assert res.err.count("\n") == 1 and "envsnap: machine: cannot run lock" in res.err and "riscv64" in res.err


def test_without_slurm_fleet_check_is_one_line_and_exit_4(
    tmp_path: Path, cli: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    lock = tmp_path / "envsnap.lock"
    lockfile.dump(sample_lock(), lock)
    monkeypatch.setenv("PATH", str(tmp_path))
    res = cli("fleet", "check", str(lock), "-w", "n[1-2]")
    assert res.code == 4, res
    assert "scontrol not found" in res.err and len(res.err.strip().splitlines()) == 1


@pytest.mark.parametrize(
    "args",
    [
        ["--nodes", "-1"],
        ["--nodes", "0"],
        ["--timeout", "0", "-w", "n1"],
        ["--timeout", "nan", "-w", "n1"],
        ["--timeout", "inf", "-w", "n1"],
        ["-w", "n1", "--nodes", "2"],
        ["-w", ""],  # -w "$NODES" with $NODES empty checked the whole default partition
        ["-w", "  "],
        ["-w", "n[1-2"],  # scontrol expands it to a node "n]"
        ["-w", "n1],n2"],
        ["-w", "n[1-[2]"],
        ["-p", ""],  # -p "$PARTITION" with $PARTITION empty checked the default partition instead
        ["-p", " "],
        ["--reservation", ""],  # likewise, the nodes outside any reservation
    ],
)
def test_bad_selections_exit_2(tmp_path: Path, cli: Callable[..., Any], args: list[str]) -> None:
    lock = tmp_path / "envsnap.lock"
    lockfile.dump(sample_lock(), lock)
    res = cli("fleet", "check", str(lock), *args)
    assert res.code == 2, res
    assert len(res.err.strip().splitlines()) == 1, res
    if "-p" in args or "--reservation" in args:  # said before Slurm is asked (none here), naming the option
        assert res.err.startswith(f"envsnap: error: {args[0]} {args[1]!r}: "), res
        assert "empty" in res.err, res
    if "--timeout" in args or "-p" in args or "--reservation" in args:  # capture takes the same options
        res = cli("fleet", "capture", "-o", str(tmp_path / "fleet.toml"), *args)
        assert res.code == 2 and len(res.err.strip().splitlines()) == 1, res


@pytest.mark.parametrize("command", ["check", "capture"])
def test_a_node_slurm_does_not_know_is_bad_input_as_a_partition_is(
    tmp_path: Path, cli: Callable[..., Any], monkeypatch: pytest.MonkeyPatch, command: str
) -> None:
    """``-w node9`` (a typo, or another cluster's node) was reported "unreachable: Slurm knows no node of this name",
    exit 3, where ``-p nosuch`` is bad input, exit 2: a misspelt node read as a node gone. It is one line naming
    the nodes Slurm does not know, exit 2, before any node is asked; nothing written."""
    lock = tmp_path / "envsnap.lock"
    lockfile.dump(sample_lock(), lock)
    log = tmp_path / "srun.log"
    env = _fake_slurm(
        tmp_path,
        scontrol='echo "$3" | tr , "\\n"\n',
        sinfo="case \"$*\" in *n1*) echo 'n1|idle|debug*|(null)|up|none' ;; esac\n",
        srun=f'echo "$*" >> {log}\nexit 1\n',
        scancel="exit 0\n",
    )
    monkeypatch.setenv("PATH", env["PATH"])
    out = tmp_path / "out"
    first = [str(lock)] if command == "check" else []
    for nodelist, unknown in (("n9", "node n9"), ("n1,n8,n9", "nodes n[8-9]")):
        res = cli("fleet", command, *first, "-w", nodelist, "-o", str(out))
        assert res.code == 2, res
        assert res.err.splitlines() == [f"envsnap: error: -w '{nodelist}': Slurm knows no {unknown}"], res
        assert res.out == "", res
    assert not log.exists() and not out.exists()


def test_node_state_says_which_nodes_can_be_asked() -> None:
    assert NodeState("n1", "idle").available and NodeState("n1", "mixed").available
    for state in ("drained", "down", "idle*", "draining", "maint", "reserved"):
        assert not NodeState("n1", state).available, state


@pytest.mark.parametrize(
    ("verdicts", "strict", "code"),
    [
        (("compatible", "compatible"), False, 0),
        (("compatible", "warnings"), False, 0),
        (("compatible", "warnings"), True, 1),
        (("compatible", "unreachable"), False, 3),
        (("invalid", "warnings"), True, 3),
    ],
)
def test_fleet_check_exit_status(
    tmp_path: Path,
    cli: Callable[..., Any],
    monkeypatch: pytest.MonkeyPatch,
    verdicts: tuple[str, ...],
    strict: bool,
    code: int,
) -> None:
    import envsnap.fleet

    lock = tmp_path / "envsnap.lock"
    lockfile.dump(sample_lock(), lock)
    results = tuple(
        NodeResult(f"n{i}", v, dict.fromkeys(FACTS, "x"), reason="down" if v == "unreachable" else "")
        for i, v in enumerate(verdicts)
    )  # type: ignore[arg-type]
    monkeypatch.setattr(envsnap.fleet, "check_fleet", lambda *a, **k: FleetReport(str(lock), "d", results))
    report = tmp_path / "report.json"
    res = cli("fleet", "check", str(lock), "-w", "n[0-1]", "-o", str(report), *(["--strict"] if strict else []))
    assert res.code == code, res
    assert json.loads(report.read_text())["counts"][verdicts[1]] >= 1


def test_sinfo_lines_become_node_states_in_the_partition_srun_must_name() -> None:
    from envsnap.fleet.slurm import parse_states

    text = (
        "n1|idle|cpu*|(null)|up|none\nn2|drained|cpu*|(null)|up|bad fan | noisy\n"
        "n3|mixed|gpu|gpu:a100:4(S:0-1),nic:1|up|none\nn1|idle|gpu|(null)|up|none\nn4|idle|gpu|gpu:2,gpu:v100:2|up|none\n"
    )
    default = parse_states(text, all_partitions=False)
    assert [(s.name, s.partition) for s in default] == [("n1", "cpu"), ("n2", "cpu")]
    assert default[1].reason == "bad fan | noisy" and not default[1].available
    named = parse_states(text, all_partitions=True)
    assert [(s.name, s.partition) for s in named] == [("n1", "cpu"), ("n2", "cpu"), ("n3", "gpu"), ("n4", "gpu")]
    # The GPUs Slurm's configuration lists on each node (sinfo's %G): what a GPU lock's check asks for.
    assert [s.gpus for s in named] == [0, 0, 4, 4]
    # A node is asked for in a partition that is up (a job of a partition down waits); one only in partitions
    # not up is not tried.
    down = parse_states("n1|idle|cpu*|(null)|down|none\nn1|idle|gpu|(null)|up|none\n", all_partitions=True)
    assert [(s.name, s.partition, s.available) for s in down] == [("n1", "gpu", True)]
    down = parse_states("n1|idle|cpu*|(null)|down|none\nn1|idle|gpu|(null)|inact|none\n", all_partitions=True)
    assert [(s.name, s.partition, s.available) for s in down] == [("n1", "cpu", False)]


def test_ctrl_c_stops_every_srun_at_once_and_cancels_their_jobs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Interrupted, fleet check does not wait for the nodes' deadline: the sruns are killed and their jobs
    cancelled (a killed srun leaves its job holding the node)."""
    import os
    import signal
    import threading
    import time

    from envsnap.fleet.slurm import run_on_nodes

    log = tmp_path / "scancel.log"
    (tmp_path / "srun").write_text("#!/bin/sh\nexec sleep 60\n")
    (tmp_path / "scancel").write_text(f'#!/bin/sh\necho "$@" >> {log}\n')
    for name in ("srun", "scancel"):
        (tmp_path / name).chmod(0o755)
    env = {"PATH": f"{tmp_path}:/usr/bin:/bin"}
    threading.Timer(1.0, os.kill, (os.getpid(), signal.SIGINT)).start()  # Ctrl-C
    started = time.monotonic()
    with pytest.raises(KeyboardInterrupt):
        run_on_nodes(
            [NodeState("n1", "idle"), NodeState("n2", "idle")],
            ["envsnap", "fleet", "node", "l"],
            env=env,
            timeout=60,
            job_name="envsnap-fleet-test",
        )
    assert time.monotonic() - started < 15
    assert "--name=envsnap-fleet-test" in log.read_text()


@pytest.mark.parametrize("command", ["check", "capture"])
def test_an_output_that_cannot_be_written_is_refused_before_any_node_is_asked(
    tmp_path: Path, cli: Callable[..., Any], monkeypatch: pytest.MonkeyPatch, command: str
) -> None:
    import envsnap.fleet

    lock = tmp_path / "envsnap.lock"
    lockfile.dump(sample_lock(), lock)
    asked: list[str] = []
    monkeypatch.setattr(envsnap.fleet, f"{command}_fleet", lambda *a, **k: asked.append(command))
    (tmp_path / "afile").write_text("kept\n")
    for output in (tmp_path / "afile" / "out", tmp_path / "afile" / "deeper" / "out", tmp_path):
        res = cli("fleet", command, *([str(lock)] if command == "check" else []), "-w", "n1", "-o", str(output))
        assert res.code == 2 and "cannot write" in res.err and len(res.err.strip().splitlines()) == 1, res
    assert asked == []
    assert (tmp_path / "afile").read_text() == "kept\n"


@pytest.mark.parametrize("command", ["check", "capture"])
def test_an_empty_output_is_refused_before_any_node_is_asked(
    tmp_path: Path, cli: Callable[..., Any], monkeypatch: pytest.MonkeyPatch, command: str
) -> None:
    """``-o "$REPORT"`` with the variable unset: ``fleet check`` wrote no report, exit 0, as if no ``-o`` was given,
    and ``fleet capture`` asked every node, then failed on the path ``.`` and lost their captures. It is one line
    naming the empty path, exit 2, before any node is asked."""
    import envsnap.fleet

    lock = tmp_path / "envsnap.lock"
    lockfile.dump(sample_lock(), lock)
    asked: list[str] = []
    monkeypatch.setattr(envsnap.fleet, f"{command}_fleet", lambda *a, **k: asked.append(command))
    monkeypatch.chdir(tmp_path)
    res = cli("fleet", command, *([str(lock)] if command == "check" else []), "-w", "n1", "-o", "")
    assert res.code == 2, res
    assert res.err.splitlines() == [
        "envsnap: error: -o '': the path is empty (expected a file to write); a shell variable left unset?"
    ], res
    assert asked == []
    assert sorted(p.name for p in tmp_path.iterdir()) == ["envsnap.lock"]


@pytest.mark.parametrize("command", ["check", "capture"])
def test_an_empty_envsnap_path_is_refused_before_any_node_is_asked(
    tmp_path: Path, cli: Callable[..., Any], monkeypatch: pytest.MonkeyPatch, command: str
) -> None:
    """``--envsnap "$ENVSNAP"`` with the variable unset read as no ``--envsnap``: the nodes ran the login node's
    envsnap, not the one named for them, and the report said nothing of it. One line, exit 2, no node asked."""
    import envsnap.fleet

    lock = tmp_path / "envsnap.lock"
    lockfile.dump(sample_lock(), lock)
    asked: list[str] = []
    monkeypatch.setattr(envsnap.fleet, f"{command}_fleet", lambda *a, **k: asked.append(command))
    out = tmp_path / "out"
    res = cli(
        "fleet", command, *([str(lock)] if command == "check" else []), "-w", "n1", "--envsnap", "", "-o", str(out)
    )
    assert res.code == 2, res
    assert res.err.splitlines() == [
        "envsnap: error: --envsnap '': the path is empty (expected a path to envsnap on the nodes); "
        "a shell variable left unset?"
    ], res
    assert asked == [] and not out.exists()


def test_an_output_into_a_folder_not_made_yet_makes_it(
    tmp_path: Path, cli: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """``fleet check -o reports/n.json`` and ``fleet capture -o fleet/FLEET.toml`` refused a missing folder ("no
    such directory"), where ``capture -o``, ``import -o``, ``pin -o`` and ``export -o`` make it."""
    import envsnap.fleet

    lock = tmp_path / "envsnap.lock"
    lockfile.dump(sample_lock(), lock)
    answer = from_run(_run(json.dumps(_answer())), lock_digest="sha256:ab", timeout=5)
    monkeypatch.setattr(envsnap.fleet, "check_fleet", lambda *a, **k: FleetReport(str(lock), "sha256:ab", (answer,)))
    monkeypatch.setattr(
        envsnap.fleet, "capture_fleet", lambda *a, **k: fleetfile.FleetFile({"n1": _node("550.54.14", "1.0.0")})
    )
    report = tmp_path / "reports" / "week 1" / "n.json"
    res = cli("fleet", "check", str(lock), "-w", "n1", "-o", str(report), "--json")
    assert res.code == 0, res
    assert report.read_text() == res.out
    fleet = tmp_path / "fleet" / "FLEET.toml"
    res = cli("fleet", "capture", "-w", "n1", "-o", str(fleet))
    assert res.code == 0, res
    assert f"wrote {fleet}: 1 node captured" in res.err
    assert list(fleetfile.load(fleet).nodes) == ["n1"]
    assert sorted(p.name for p in fleet.parent.iterdir()) == ["FLEET.toml"]  # nothing left beside it


def test_what_fleet_writes_in_a_project_leaves_it_clean_for_the_next_capture(
    tmp_path: Path, cli: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """``fleet capture -o fleet.toml`` in the project, then again a week later: every node's capture found the
    earlier FLEET.toml (and a ``fleet check -o`` report) an uncommitted change, and ``fleet diff`` said
    ``project.dirty: false -> true`` of every node, a drift no one made. What fleet writes is envsnap's output, left
    out of the project's state while untracked and unchanged, as an export is."""
    import envsnap.fleet

    project = tmp_path / "proj"
    project.mkdir()
    git = ["git", "-C", str(project), "-c", "user.name=t", "-c", "user.email=t@example.org"]
    subprocess.run([*git, "init", "-q"], check=True)
    (project / "train.py").write_text("print(1)\n")
    subprocess.run([*git, "add", "train.py"], check=True)
    subprocess.run([*git, "commit", "-q", "-m", "code"], check=True)
    lock = project / "envsnap.lock"
    lockfile.dump(sample_lock(), lock)
    answer = from_run(_run(json.dumps(_answer())), lock_digest="sha256:ab", timeout=5)
    monkeypatch.setattr(envsnap.fleet, "check_fleet", lambda *a, **k: FleetReport(str(lock), "sha256:ab", (answer,)))
    monkeypatch.setattr(
        envsnap.fleet, "capture_fleet", lambda *a, **k: fleetfile.FleetFile({"n1": _node("550.54.14", "1.0.0")})
    )
    monkeypatch.chdir(project)
    assert cli("fleet", "capture", "-w", "n1", "-o", "fleet.toml").code == 0
    assert cli("fleet", "check", str(lock), "-w", "n1", "-o", "reports/week1.json").code == 0
    res = cli("capture", "-o", "after.lock")
    assert res.code == 0, res
    project_state = lockfile.load(project / "after.lock").project
    assert project_state is not None and not project_state.dirty, project_state
    # Edited, the file is the user's work, as an edited export is.
    (project / "fleet.toml").write_text((project / "fleet.toml").read_text() + "# checked by hand\n")
    assert cli("capture", "-o", "edited.lock").code == 0
    project_state = lockfile.load(project / "edited.lock").project
    assert project_state is not None and project_state.dirty


def test_a_fleet_file_over_the_size_limit_is_not_written(
    tmp_path: Path, cli: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A FLEET.toml of many nodes was written whatever its size, and ``fleet diff`` refused it as over
    ``ENVSNAP_MAX_LOCK_BYTES``: it is refused as a lock is, one line naming its size and the limit, exit 2, a file
    already there left as it was (to standard output too: nothing printed)."""
    import envsnap.fleet

    nodes = {f"n{i}": _node(f"550.54.{i}", f"1.0.{i}") for i in range(1, 41)}
    monkeypatch.setattr(envsnap.fleet, "capture_fleet", lambda *a, **k: fleetfile.FleetFile(nodes))
    monkeypatch.setenv("ENVSNAP_MAX_LOCK_BYTES", "4K")
    fleet = tmp_path / "FLEET.toml"
    fleet.write_text("last week's\n")
    for output in (str(fleet), "-"):
        res = cli("fleet", "capture", "-w", "n[1-40]", "-o", output)
        assert res.code == 2, res
        assert res.out == ""
        line = f"envsnap: error: {output}: the FLEET.toml file would be "
        assert res.err.startswith(line) and len(res.err.strip().splitlines()) == 1, res.err
        assert "bytes, over the limit of 4096 bytes" in res.err and "nothing written" in res.err, res.err
    assert fleet.read_text() == "last week's\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["FLEET.toml"]


def test_a_check_report_is_written_whole_whatever_the_size_limit(
    tmp_path: Path, cli: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """``ENVSNAP_MAX_LOCK_BYTES`` bounds the files envsnap reads back (a lock, a run record, a FLEET.toml). No command
    reads ``fleet check -o``'s JSON report: a large cluster's is written whole, as ``--json`` prints it, not refused
    after every node answered (docs/cli.md says so)."""
    import envsnap.fleet

    lock = tmp_path / "envsnap.lock"
    lockfile.dump(sample_lock(), lock)
    facts = dict.fromkeys(FACTS, "x" * 60)
    results = tuple(NodeResult(f"n{i}", "compatible", facts) for i in range(1, 41))
    monkeypatch.setattr(envsnap.fleet, "check_fleet", lambda *a, **k: FleetReport(str(lock), "d", results))
    monkeypatch.setenv("ENVSNAP_MAX_LOCK_BYTES", "4K")
    report = tmp_path / "report.json"
    res = cli("fleet", "check", str(lock), "-w", "n[1-40]", "-o", str(report), "--json")
    assert res.code == 0, res
    assert report.stat().st_size > 4096 and report.read_text() == res.out
    assert len(json.loads(res.out)["nodes"]) == 40


def test_a_slurm_command_that_does_not_answer_is_one_line_and_exit_4(
    tmp_path: Path, cli: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    import envsnap.fleet.slurm

    lock = tmp_path / "envsnap.lock"
    lockfile.dump(sample_lock(), lock)
    (tmp_path / "sinfo").write_text("#!/bin/sh\nexec sleep 30\n")  # as sinfo retries a missing slurm.conf
    (tmp_path / "sinfo").chmod(0o755)
    monkeypatch.setenv("PATH", f"{tmp_path}:/usr/bin:/bin")
    monkeypatch.setattr(envsnap.fleet.slurm, "QUERY_TIMEOUT", 1.0)
    res = cli("fleet", "check", str(lock))
    assert res.code == 4, res
    assert "sinfo did not answer within 1 s" in res.err and len(res.err.strip().splitlines()) == 1


@pytest.mark.parametrize("command", ["check", "capture"])
def test_a_slurm_conf_that_names_no_file_is_bad_input_at_once(
    tmp_path: Path, cli: Callable[..., Any], monkeypatch: pytest.MonkeyPatch, command: str
) -> None:
    """``SLURM_CONF=/nonexistent``: sinfo retries a configuration it cannot read, and the command waited the whole
    query timeout (30 s) before exit 4, naming sinfo rather than the setting."""
    lock = tmp_path / "envsnap.lock"
    lockfile.dump(sample_lock(), lock)
    (tmp_path / "sinfo").write_text("#!/bin/sh\nexec sleep 30\n")  # as sinfo retries a missing slurm.conf
    (tmp_path / "sinfo").chmod(0o755)
    monkeypatch.setenv("PATH", f"{tmp_path}:/usr/bin:/bin")
    missing = tmp_path / "nonexistent" / "slurm.conf"
    monkeypatch.setenv("SLURM_CONF", str(missing))
    target = [str(lock)] if command == "check" else ["-o", str(tmp_path / "fleet.toml")]
    res = cli("fleet", command, *target)
    assert (res.code, res.err) == (
        2,
        f"envsnap: error: SLURM_CONF={str(missing)!r}: no such file (Slurm's commands read their configuration "
        "from it; unset it to use the cluster's own)\n",
    ), res
    assert not (tmp_path / "fleet.toml").exists()


def _fleet_with_two_hanging_sruns(tmp_path: Path, command: str, scancel: str) -> subprocess.Popen[str]:
    """``envsnap fleet COMMAND`` (check of the sample lock, or capture to fleet.toml) over nodes n1 and n2 whose
    sruns never answer, once both have started; ``scancel``: the fake scancel's body."""
    lock = tmp_path / "envsnap.lock"
    lockfile.dump(sample_lock(), lock)
    pids = tmp_path / "srun.pids"
    env = _fake_slurm(
        tmp_path,
        scontrol='case "$1" in show) echo n1; echo n2 ;; esac\n',
        sinfo="echo 'n1|idle|debug*|none'; echo 'n2|idle|debug*|none'\n",
        srun=f"echo $$ >> {pids}\nexec sleep 60\n",
        scancel=scancel,
    )
    targets = [str(lock)] if command == "check" else ["-o", str(tmp_path / "fleet.toml")]
    proc = subprocess.Popen(
        [sys.executable, "-m", "envsnap", "fleet", command, *targets, "-w", "n[1-2]", "--timeout", "60"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 30
    while (not pids.exists() or len(pids.read_text().split()) < 2) and time.monotonic() < deadline:
        time.sleep(0.1)
    return proc


def _tgkill(pid: int, tid: int, sig: int) -> None:
    """``sig`` to thread ``tid`` of process ``pid`` alone (Linux ``tgkill``): where the kernel may put a process's
    signal when its main thread cannot take it at once."""
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    sys_tgkill = {"x86_64": 234, "aarch64": 131}[os.uname().machine]
    assert libc.syscall(sys_tgkill, pid, tid, sig) == 0, ctypes.get_errno()


@pytest.mark.skipif(os.uname().machine not in ("x86_64", "aarch64"), reason="tgkill's number known for these only")
def test_a_sigterm_a_node_thread_takes_ends_fleet_check_too(tmp_path: Path) -> None:
    """The kernel gives a process's SIGTERM to any of its threads; Python runs the handler in the main thread only,
    and a main thread asleep in an unbounded wait on the nodes' threads never woke to run it (the SIGTERM test
    above hung 1 run in 10 on a loaded machine): it waits in bounded steps, and ends within one."""
    import signal

    proc = _fleet_with_two_hanging_sruns(tmp_path, "check", scancel="true\n")
    try:
        threads = [int(t) for t in os.listdir(f"/proc/{proc.pid}/task") if int(t) != proc.pid]
        assert threads
        _tgkill(proc.pid, threads[0], signal.SIGTERM)
        _out, err = proc.communicate(timeout=15)
        assert proc.returncode == 128 + signal.SIGTERM, err
    finally:
        proc.kill()
    assert err.strip().splitlines()[-1:] == ["envsnap: terminated (SIGTERM)"], err


@pytest.mark.parametrize("command", ["check", "capture"])
def test_sigterm_ends_fleet_check_as_ctrl_c_does(tmp_path: Path, command: str) -> None:
    """A CI job's timeout sends SIGTERM: the sruns (each in its own session) are killed and their jobs cancelled,
    not left holding the nodes, and the command ends as every other does on SIGTERM: one line, exit 143."""
    import signal

    pids, log = tmp_path / "srun.pids", tmp_path / "scancel.log"
    proc = _fleet_with_two_hanging_sruns(tmp_path, command, scancel=f'echo "$@" >> {log}\n')
    try:
        proc.send_signal(signal.SIGTERM)
        _out, err = proc.communicate(timeout=15)
        assert proc.returncode == 128 + signal.SIGTERM
    finally:
        proc.kill()
    assert err.strip().splitlines()[-1:] == ["envsnap: terminated (SIGTERM)"], err
    assert not (tmp_path / "fleet.toml").exists()
    assert "--name=envsnap-fleet-" in log.read_text()
    for pid in pids.read_text().split():
        with pytest.raises(ProcessLookupError):
            os.kill(int(pid), 0)


# ------------------------------------------------------------------------------ the node's answer is check's


def _locks_for_this_host(here: Path) -> dict[str, Snapshot]:
    """Locks this host meets, fails or warns on in every area a rule reads (``testutil.locks_for_this_host``),
    and one whose Python layer drifted."""
    snap = lockfile.load(here)
    first = snap.python.packages[0]
    drifted = dataclasses.replace(first, version=first.version + ".post9")
    return {
        **locks_for_this_host(snap),
        "drifted": dataclasses.replace(
            snap, python=dataclasses.replace(snap.python, packages=(drifted, *snap.python.packages[1:]))
        ),
    }


def _same_disk(report: dict[str, Any]) -> dict[str, Any]:
    """The report without the free space the disk rule found: it changes between two runs on a shared machine."""
    findings = [{**f, "found": "(free space)"} if f["rule"] == "disk" else f for f in report["findings"]]
    return {**report, "findings": findings}


def test_a_node_answers_what_check_and_verify_answer_on_the_same_host(
    tmp_path: Path, cli: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The node's lean capture (no system packages, no git, no environment variables) carries every fact the
    rules and the Python layer's comparison read: for locks that pass, warn and fail in every area, its report
    is check's and its Python layer differences are verify's mismatches."""
    monkeypatch.delenv("SLURMD_NODENAME", raising=False)
    here = tmp_path / "here.lock"
    assert cli("capture", "-o", str(here)).code == 0
    verdicts = set()
    for name, snap in _locks_for_this_host(here).items():
        path = tmp_path / f"{name.replace(' ', '-')}.lock"
        lockfile.dump(snap, path)
        checked = cli("check", str(path), "--json")
        assert checked.code in (0, 3), (name, checked)
        answered = cli("fleet", "node", str(path))
        assert answered.code in (0, 3), (name, answered)
        verified = cli("verify", str(path), "--json")
        report = json.loads(checked.out)
        answer = json.loads(answered.out)
        # The differences by design: a remedy for another interpreter names check's --python and --target, which a
        # node's caller (fleet check) does not have (test_a_nodes_remedy_for_another_python_...), and one that
        # rebuilds as a container names the command with --target docker (..._an_old_glibc_or_...).
        for mine, checks in zip(answer["check"]["findings"], report["findings"], strict=True):
            ours = checks["remedy"].replace("--target docker", "envsnap rebuild --target docker")
            if mine["remedy"] != checks["remedy"] and mine["remedy"] == ours:
                mine["remedy"] = checks["remedy"]
            if mine["remedy"] != checks["remedy"]:
                assert mine["rule"] in ("python", "wheels") and "--python" in checks["remedy"], (name, checks)
                assert mine["remedy"].startswith("activate a venv or conda environment of "), (name, mine)
                mine["remedy"] = checks["remedy"]
        # check's own keys beside the report: the lock's path and the interpreter it judged (the node's answer names
        # its environment apart).
        judged = {k: v for k, v in report.items() if k not in ("lock", "python")}
        assert _same_disk(answer["check"]) == _same_disk(judged), name
        mismatches = [
            d for d in json.loads(verified.out)["differences"] if d["severity"] == "mismatch" and d["area"] == "python"
        ]
        layer = answer["python_layer"]
        assert [(d["subject"], d["what"], d["expected"], d["actual"]) for d in layer["differences"]] == [
            (d["subject"], d["what"], d["expected"], d["actual"]) for d in mismatches
        ], name
        assert [d["description"] for d in layer["differences"]] == [Difference(**d).describe() for d in mismatches]
        assert layer["identical"] == (not mismatches) and layer["packages_checked"] == len(snap.python.packages)
        expected = "incompatible" if mismatches or report["verdict"] == "incompatible" else report["verdict"]
        assert answer["verdict"] == expected, name
        verdicts.add((report["verdict"], bool(mismatches)))
    # The locks above reach every outcome, so the comparison is not of empty reports.
    assert {("compatible", False), ("incompatible", False), ("warnings", False)} <= verdicts
    assert any(drifted for _, drifted in verdicts)


def test_a_nodes_remedy_for_an_old_glibc_or_another_distribution_names_the_command_with_target_docker(
    tmp_path: Path, cli: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A lock whose wheels need glibc 2.99, or whose system packages are another distribution's, on a node: the
    node's remedy said "(e.g. --target docker)", an option `fleet check` does not have; it names the command that
    has it, `envsnap rebuild --target docker`. check's own remedy keeps its option."""
    here = tmp_path / "here.lock"
    assert cli("capture", "-o", str(here)).code == 0
    snap = lockfile.load(here)
    first = dataclasses.replace(snap.python.packages[0], wheel_tags=("py3-none-manylinux_2_99_x86_64",))
    platform = dataclasses.replace(snap.platform, os_id="fedora", os_version="41")
    packages = (SystemPackage("rpm", "libgomp", "14.2.1", "x86_64", needed_by=(first.name,)),)
    edited = dataclasses.replace(
        snap,
        platform=platform,
        python=dataclasses.replace(snap.python, packages=(first, *snap.python.packages[1:])),
        system=dataclasses.replace(snap.system, manager="rpm", packages=packages),
    )
    lock = tmp_path / "old-glibc.lock"
    lockfile.dump(edited, lock)
    monkeypatch.delenv("SLURMD_NODENAME", raising=False)
    answered = cli("fleet", "node", str(lock))
    assert answered.out, answered
    findings = json.loads(answered.out)["check"]["findings"]
    remedies = {f["component"]: f["remedy"] for f in findings}
    assert remedies["glibc"].endswith("(e.g. envsnap rebuild --target docker)"), remedies
    assert remedies["system packages"] == "use envsnap rebuild --target docker to rebuild on the captured distribution"
    checked = {f["component"]: f["remedy"] for f in json.loads(cli("check", str(lock), "--json").out)["findings"]}
    assert checked["glibc"].endswith("(e.g. --target docker)") and "envsnap rebuild" not in checked["glibc"]


def test_a_nodes_remedy_for_another_python_names_no_option_fleet_check_lacks(
    tmp_path: Path, cli: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A lock of Python 3.12 on a node of 3.11: check's remedy names its --python and --target; a node's names what
    the user of `fleet check` can do, which has neither option (it told them to "run with a cpython 3.12.1
    interpreter (--python PATH ...), or use --target conda or docker")."""
    here = tmp_path / "here.lock"
    assert cli("capture", "-o", str(here)).code == 0
    snap = lockfile.load(here)
    first, second = snap.python.packages[:2]
    packages = (
        dataclasses.replace(first, wheel_tags=("cp312-cp312-manylinux_2_17_x86_64",)),
        dataclasses.replace(second, requires_python=">=3.12"),
        *snap.python.packages[2:],
    )
    python = dataclasses.replace(python_at(snap.python, "3.12.1"), implementation="cpython", packages=packages)
    lock = tmp_path / "py312.lock"
    lockfile.dump(dataclasses.replace(snap, python=python), lock)
    monkeypatch.delenv("SLURMD_NODENAME", raising=False)
    monkeypatch.delenv("VIRTUAL_ENV", raising=False)
    monkeypatch.delenv("CONDA_PREFIX", raising=False)
    answered = cli("fleet", "node", str(lock))
    assert answered.code == 3, answered
    failed = [f for f in json.loads(answered.out)["check"]["findings"] if f["severity"] == "fail"]
    remedies = {f["component"]: f["remedy"] for f in failed}
    share = "on a file system the nodes share (srun passes VIRTUAL_ENV and CONDA_PREFIX on to them"
    rebuild = "or rebuild the lock into one with envsnap rebuild"
    assert remedies["Python"] == (
        f"activate a venv or conda environment of a cpython 3.12.1 interpreter {share}; to get one: "
        f"uv python install 3.12.1, or pyenv install 3.12.1), {rebuild}"
    )
    assert remedies["Python (Requires-Python)"] == (
        f"activate a venv or conda environment of a Python that it admits (the lock's own is 3.12.1) {share}), "
        f"{rebuild}"
    )
    assert remedies[f"wheel {first.name} {first.version}"] == (
        f"activate a venv or conda environment of a Python 3.12 interpreter {share}), {rebuild}"
    )
    checked = {f["component"]: f["remedy"] for f in json.loads(cli("check", str(lock), "--json").out)["findings"]}
    # How to get 3.12.1, or the one this host has (pyenv's 3.12.1 on some): check's --python either way.
    assert checked["Python"].startswith("run with a cpython 3.12.1 interpreter (--python PATH; ")
    assert checked["Python"].endswith("), or use --target docker")
    assert (
        checked[f"wheel {first.name} {first.version}"] == "use a Python 3.12 interpreter (--python, or --target docker)"
    )
    assert {f["rule"] for f in failed} == {"python", "wheels"}
    for remedy in remedies.values():
        assert "--python" not in remedy and "--target" not in remedy, remedy


def test_a_node_answer_reads_no_system_package_database(
    tmp_path: Path, cli: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The host's installed packages and who owns which library are what capture records and no rule reads:
    a node does not read them (dpkg's status and file lists are the capture's largest reads)."""
    lock = tmp_path / "envsnap.lock"
    assert cli("capture", "-o", str(lock)).code == 0
    read: list[str] = []
    monkeypatch.setattr(PackageDatabase, "installed", lambda self: read.append("installed") or [])
    monkeypatch.setattr(PackageDatabase, "owners", lambda self, paths: read.append("owners") or {})
    monkeypatch.delenv("SLURMD_NODENAME", raising=False)
    answered = cli("fleet", "node", str(lock))
    assert answered.code == 0, answered
    assert read == []
    assert json.loads(answered.out)["verdict"] == "compatible"


def test_a_node_in_a_conda_environment_without_python_compares_no_python_layer(
    tmp_path: Path, cli: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A conda environment without Python (CONDA_PREFIX) has no Python layer, as verify and check say: the node
    borrows envsnap's own interpreter for the rules only, and does not compare envsnap's own packages with the
    lock (every node was reported incompatible, "remove docker, or rebuild", for a lock verify calls identical)."""
    prefix = tmp_path / "tools"
    (prefix / "conda-meta").mkdir(parents=True)
    lock = tmp_path / "envsnap.lock"
    assert cli("capture", "--prefix", str(prefix), "-o", str(lock)).code == 0
    monkeypatch.delenv("SLURMD_NODENAME", raising=False)
    monkeypatch.delenv("VIRTUAL_ENV", raising=False)
    monkeypatch.setenv("CONDA_PREFIX", str(prefix))
    assert cli("verify", str(lock)).code == 0
    answered = cli("fleet", "node", str(lock))
    answer = json.loads(answered.out)
    assert answer["python_layer"]["differences"] == [], answer["python_layer"]
    assert answer["python_layer"]["identical"] and answer["python_layer"]["packages_checked"] == 0
    assert answer["environment"] == f"{prefix} (CONDA_PREFIX; no Python in it: no Python layer)"
    assert answer["facts"]["python_layer"] == ""
    assert answered.code == 0 and answer["verdict"] == "compatible", answer["check"]


def test_the_prolog_in_a_conda_environment_without_python_answers_as_a_node_does(
    tmp_path: Path, cli: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """In a conda environment without Python, ``check`` and ``fleet node`` lend envsnap's own interpreter to the
    rules; the prolog did not, and refused (drained the node, under Slurm) a lock both call compatible: "Python:
    needs cpython 3.11.7, found python ?"."""
    venv = tmp_path / "empty"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    lock = tmp_path / "envsnap.lock"
    monkeypatch.delenv("CONDA_PREFIX", raising=False)
    monkeypatch.setenv("VIRTUAL_ENV", str(venv))
    assert cli("capture", "-o", str(lock)).code == 0
    prefix = tmp_path / "tools"
    (prefix / "conda-meta").mkdir(parents=True)
    monkeypatch.delenv("SLURMD_NODENAME", raising=False)
    monkeypatch.delenv("VIRTUAL_ENV", raising=False)
    monkeypatch.setenv("CONDA_PREFIX", str(prefix))
    answered = cli("fleet", "node", str(lock))
    assert answered.code == 0 and json.loads(answered.out)["verdict"] == "compatible", answered
    res = cli("fleet", "prolog", str(lock))
    assert res.code == 0, res
    assert res.out.startswith("envsnap: ") and " can run " in res.out and res.err == "", res


@pytest.mark.parametrize("command", ["node", "prolog"])
@pytest.mark.parametrize("variable", ["VIRTUAL_ENV", "CONDA_PREFIX"])
def test_a_node_whose_environment_variable_names_no_environment_is_not_told_to_pass_python(
    tmp_path: Path, cli: Callable[..., Any], monkeypatch: pytest.MonkeyPatch, command: str, variable: str
) -> None:
    """``fleet node`` and ``fleet prolog`` have no ``--python``: a node whose VIRTUAL_ENV (or CONDA_PREFIX) names
    no environment read "activate a real one, unset VIRTUAL_ENV, or pass --python", in fleet check's report too."""
    lock = tmp_path / "envsnap.lock"
    lockfile.dump(sample_lock(), lock)
    for name in ("VIRTUAL_ENV", "CONDA_PREFIX", "SLURMD_NODENAME"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv(variable, str(tmp_path / "gone"))
    res = cli("fleet", command, str(lock))
    assert res.code == 2, res
    assert res.err.strip().endswith(f"activate a real one or unset {variable}"), res
    assert "--python" not in res.err and len(res.err.strip().splitlines()) == 1, res


def test_a_node_imports_neither_the_rebuild_targets_nor_the_login_side(
    tmp_path: Path, cli: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A node's answer is mostly start-up: it imports what the capture, the rules and the comparison need,
    not the rebuild targets (bundles, tar and zip, the pinning), Slurm's commands or the fleet report."""
    lock = tmp_path / "envsnap.lock"
    assert cli("capture", "-o", str(lock)).code == 0
    monkeypatch.delenv("SLURMD_NODENAME", raising=False)
    modules = imported("fleet", "node", str(lock))
    assert {"envsnap.fleet.node", "envsnap.compat", "envsnap.compare.verify"} <= modules  # it answered
    unwanted = ("envsnap.rebuild", "envsnap.artifacts", "envsnap.fleet.slurm", "envsnap.fleet.report")
    assert sorted(m for m in modules if m.startswith(unwanted)) == []


def test_a_node_starts_its_environments_probe_before_it_loads_the_lock(
    tmp_path: Path, cli: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The target interpreter's scan overlaps the lock's load and envsnap's imports (as in capture and verify):
    the node starts it first, and the capture uses that one rather than starting another."""
    import envsnap.probes.python

    lock = tmp_path / "envsnap.lock"
    assert cli("capture", "-o", str(lock)).code == 0
    order: list[str] = []
    probe_init, load = envsnap.probes.python.PendingProbe.__init__, lockfile.load

    def started(self: Any, *args: Any, **kwargs: Any) -> None:
        order.append("probe")
        probe_init(self, *args, **kwargs)

    monkeypatch.setattr(envsnap.probes.python.PendingProbe, "__init__", started)
    monkeypatch.setattr(lockfile, "load", lambda *a, **k: order.append("lock") or load(*a, **k))
    monkeypatch.delenv("SLURMD_NODENAME", raising=False)
    answered = cli("fleet", "node", str(lock))
    assert answered.code == 0, answered
    assert order == ["probe", "lock"]
    monkeypatch.setenv("ENVSNAP_LOCK", str(lock))
    order.clear()
    assert cli("fleet", "prolog").code == 0
    assert order == ["probe", "lock"]


def test_a_package_of_the_locked_version_with_other_files_is_named_so_with_a_remedy_that_installs() -> None:
    """A RECORD digest that differs read "needs sha256:..., found sha256:..." with the remedy "install the locked
    six==sha256:...", which is no requirement."""
    from envsnap.fleet.node import python_layer_remedy

    remedy = python_layer_remedy("app.lock", "six", "sha256:" + "b" * 64, "record_digest", "1.16.0")
    assert remedy.startswith("reinstall six==1.16.0 from the locked file (the installed one has other files)")
    assert "sha256" not in remedy and remedy.endswith("envsnap rebuild app.lock")
    for what in ("version", "missing"):
        assert python_layer_remedy("app.lock", "six", "1.16.0", what, "1.16.0").startswith("install the locked six==")
    assert python_layer_remedy("app.lock", "six", "", "extra").startswith("remove six")
    # The lock's path is one shell word of the command an admin copies (a space made it two).
    spaced = python_layer_remedy("/shared/my proj/app.lock", "six", "1.16.0", "version", "1.16.0")
    assert spaced.endswith("or rebuild the environment: envsnap rebuild '/shared/my proj/app.lock'")
    difference = {
        "subject": "six",
        "what": "record_digest",
        "expected": "sha256:" + "b" * 64,
        "actual": "sha256:" + "1" * 64,
        "description": "six: record_digest",
        "remedy": remedy,
    }
    layer = {"identical": False, "digest": "sha256:00", "packages_checked": 1, "mismatches": 1}
    answer = _answer(verdict="incompatible", python_layer={**layer, "differences": [difference]})
    result = from_run(_run(json.dumps(answer)), lock_digest="sha256:ab", timeout=5)
    (problem,) = result.failures
    assert problem.component == "Python package six files (RECORD digest)"


def test_a_drained_node_and_an_answer_too_long_are_said_plainly() -> None:
    from envsnap.fleet.report import MAX_FINDINGS, unreachable

    assert unreachable(NodeState("n1", "drained", reason="maint")).reason == "Slurm reports the node drained (maint)"
    difference = {"subject": "p", "what": "extra", "expected": "", "actual": "1", "description": "d", "remedy": "r"}
    many = {"identical": False, "digest": "sha256:00", "packages_checked": 1, "mismatches": MAX_FINDINGS + 1}
    answer = _answer(python_layer={**many, "differences": [difference] * (MAX_FINDINGS + 1)})
    result = from_run(_run(json.dumps(answer)), lock_digest="sha256:ab", timeout=5)
    assert result.verdict == "invalid" and f"has more than {MAX_FINDINGS} entries" in result.reason, result


def test_the_matrix_off_a_terminal_is_printed_at_its_own_width(capsys: pytest.CaptureFixture[str]) -> None:
    """Piped or logged (rich assumes 80 columns), cells were folded mid-word: node[1-4] as "node", "[1-4", "]"."""
    from envsnap.cli.fleet import print_report

    facts = {**dict.fromkeys(FACTS, "x"), "python_layer": "sha256:315cbe80ebc7"}
    report = FleetReport(
        "/srv/locks/a-rather-long-name-for-the-lock.lock",
        "d",
        tuple(NodeResult(f"node{i}", "compatible", facts) for i in range(1, 5)),
    )
    print_report(report)
    out = capsys.readouterr().out
    assert "node[1-4]" in out and "compatible" in out and "sha256:315cbe80ebc7" in out, out


def test_a_column_marked_with_a_star_is_explained_below_the_matrix(
    tmp_path: Path, cli: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A column on which the nodes differ was headed ``driver *`` and nothing said what the star meant (off a
    terminal, the highlighted values are not even told apart). A line below the matrix says it, only where a star is
    printed (where the values are highlighted, on a terminal, it says so too); the JSON is as it was."""
    import envsnap.fleet

    lock = tmp_path / "envsnap.lock"
    lockfile.dump(sample_lock(), lock)
    facts = dict.fromkeys(FACTS, "x")
    alike = tuple(NodeResult(f"n{i}", "compatible", {**facts, "driver": "550.54.14"}) for i in (1, 2))
    odd = NodeResult("n3", "compatible", {**facts, "driver": "470.57.02"})
    legend = "* the nodes that answered differ on this column"
    for results, expected in ((alike, []), ((*alike, odd), [legend])):
        report = FleetReport(str(lock), "d", results)
        monkeypatch.setattr(envsnap.fleet, "check_fleet", lambda *a, report=report, **k: report)
        res = cli("fleet", "check", str(lock), "-w", "n[1-3]")
        assert res.code == 0, res
        assert ("driver *" in res.out) == bool(expected), res.out
        assert [line for line in res.out.splitlines() if line.startswith("*")] == expected, res.out
        res = cli("fleet", "check", str(lock), "-w", "n[1-3]", "--json")
        assert "*" not in res.out, res.out
    monkeypatch.setenv("FORCE_COLOR", "1")  # as on a terminal: the values are highlighted
    res = cli("fleet", "check", str(lock), "-w", "n[1-3]")
    assert res.code == 0, res
    assert f"{legend}; the values most of them do not have are highlighted" in res.out, res.out


def test_a_task_prolog_that_could_not_drain_the_node_requeues_nothing(
    tmp_path: Path, cli: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A user's job, not an operator's: Slurm refuses the drain but lets the owner requeue the job, which came
    back to the same node (it is not drained), failed there again, and so on (Restarts=2 in 45 s on the local
    cluster). Without the drain the task fails and nothing is requeued, as fleet.md says."""
    import os

    lock = _alien_lock(tmp_path, cli)
    log = tmp_path / "scontrol.log"
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    scontrol = bin_dir / "scontrol"
    scontrol.write_text(
        f'#!/bin/sh\necho "$1" >> {log}\n'
        'case "$1" in update) echo "slurm_update error: Invalid user id" >&2; exit 1 ;; esac\n'
    )
    scontrol.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}:{os.environ['PATH']}")
    monkeypatch.setenv("SLURMD_NODENAME", "node3")
    monkeypatch.setenv("SLURM_JOB_ID", "42")
    monkeypatch.setenv("SLURM_SCRIPT_CONTEXT", "prolog_task")
    monkeypatch.delenv("SLURM_TASK_PID", raising=False)
    res = cli("fleet", "prolog", str(lock))
    assert res.code == 3, res
    assert "could not drain the node: slurm_update error: Invalid user id" in res.err, res
    assert "requeue" not in res.err, res
    assert log.read_text().split() == ["update"]


@pytest.mark.parametrize(("batch_flag", "requeued"), [("0", False), ("1", True)])
def test_a_task_prolog_requeues_a_batch_job_only(
    tmp_path: Path, cli: Callable[..., Any], monkeypatch: pytest.MonkeyPatch, batch_flag: str, requeued: bool
) -> None:
    """An interactive job (``srun`` or ``salloc``) on a node that cannot run its lock read "node drained;
    requeueing the job", then "envsnap: the job was not requeued: Only batch jobs are accepted or processed":
    Slurm requeues batch jobs only. The prolog asks Slurm whether the job is one (``BatchFlag``) first."""
    import os

    lock = _alien_lock(tmp_path, cli)
    log = tmp_path / "scontrol.log"
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    scontrol = bin_dir / "scontrol"
    scontrol.write_text(
        f'#!/bin/sh\necho "$1" >> {log}\n'
        f'case "$1" in show) echo "JobId=42 JobName=train UserId=u(1) Restarts=0 BatchFlag={batch_flag} Reboot=0" ;;\n'
        'requeue) echo "Only batch jobs are accepted or processed for job 42" >&2; exit 1 ;; esac\n'
    )
    scontrol.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}:{os.environ['PATH']}")
    monkeypatch.setenv("SLURMD_NODENAME", "node3")
    monkeypatch.setenv("SLURM_JOB_ID", "42")
    monkeypatch.setenv("SLURM_SCRIPT_CONTEXT", "prolog_task")
    monkeypatch.delenv("SLURM_TASK_PID", raising=False)
    res = cli("fleet", "prolog", str(lock))
    assert res.code == 3, res
    assert "print envsnap: machine: cannot run lock" in res.err and "node drained" in res.err, res
    if requeued:
        assert "; requeueing the job" in res.err and log.read_text().split() == ["update", "show", "requeue"], res
    else:
        assert res.err.endswith("); node drained\n") and log.read_text().split() == ["update", "show"], res


def test_the_end_of_the_job_a_task_prolog_requeued_is_not_said_to_have_terminated_it(
    tmp_path: Path, cli: Callable[..., Any]
) -> None:
    """Slurm requeues a job by ending its processes, the TaskProlog's envsnap among them when the SIGTERM comes
    before it has exited (1 run in 4 on the local cluster): the job's output read "envsnap: terminated (SIGTERM)"
    under the reason, and envsnap exited 143. The end it asked for is expected: the reason alone, and exit 3."""
    lock = _alien_lock(tmp_path, cli)
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    scontrol = bin_dir / "scontrol"
    scontrol.write_text(
        '#!/bin/sh\ncase "$1" in show) echo "JobId=42 JobName=train Restarts=0 BatchFlag=1 Reboot=0" ;;\n'
        # As slurmctld does: the job's processes get SIGTERM while the requeue is answered.
        "requeue) kill -TERM $PPID; sleep 1 ;; esac\n"
    )
    scontrol.chmod(0o755)
    env = {
        **os.environ,
        "PATH": f"{bin_dir}:{os.environ['PATH']}",
        "PYTHONPATH": str(Path(__file__).resolve().parents[2]),
        "SLURMD_NODENAME": "node3",
        "SLURM_JOB_ID": "42",
        "SLURM_SCRIPT_CONTEXT": "prolog_task",
    }
    env.pop("SLURM_TASK_PID", None)
    res = subprocess.run(
        [sys.executable, "-m", "envsnap", "fleet", "prolog", str(lock)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert "print envsnap: machine: cannot run lock" in res.stderr and "; requeueing the job" in res.stderr, res
    assert "terminated" not in res.stderr, res
    assert res.returncode == 3, res


def test_the_summary_counts_one_node_as_one() -> None:
    """It read "compatible: 1 nodes, 1 compatible"."""
    one = FleetReport("l", "d", (NodeResult("n1", "compatible", dict.fromkeys(FACTS, "x")),))
    assert one.summary() == "compatible: 1 node, 1 compatible"


def test_the_summary_says_a_node_with_warnings_as_one() -> None:
    """It read "warnings: 2 nodes, 1 compatible, 1 warnings"."""
    facts = dict.fromkeys(FACTS, "x")
    two = FleetReport("l", "d", (NodeResult("n1", "compatible", facts), NodeResult("n2", "warnings", facts)))
    assert two.summary() == "warnings: 2 nodes, 1 compatible, 1 with warnings"


@pytest.mark.parametrize("command", ["check", "capture"])
def test_lines_a_task_prolog_prints_before_the_answer_are_no_part_of_it(tmp_path: Path, command: str) -> None:
    """A site's TaskProlog may print lines (``print Welcome ...``), which Slurm writes to the task's standard
    output before the task's own: the node answered all the same. It read "unreachable: srun exit status 0, no
    answer" (check) and "not a lock: ... not valid TOML" (capture)."""
    import os

    from envsnap.fleet import Selection, capture_fleet, check_fleet

    lock = tmp_path / "envsnap.lock"
    lockfile.dump(sample_lock(), lock)
    if command == "check":
        digest = lockfile.load(lock).envsnap.content_digest
        document = json.dumps(_answer(lock_digest=digest), indent=2)
    else:
        document = lock.read_text()
    (tmp_path / "answer").write_text(document)
    fakes = {
        "scontrol": "echo n1\n",
        "sinfo": "echo 'n1|idle|debug*|none'\n",
        # Two lines of the site's before the answer, the second one even beginning as a JSON document does.
        "srun": f"echo 'Welcome to n1: /scratch is purged'\necho '{{ quota: 80% }}'\ncat {tmp_path / 'answer'}\n",
        "scancel": "exit 0\n",
    }
    for name, body in fakes.items():
        (tmp_path / name).write_text("#!/bin/sh\n" + body)
        (tmp_path / name).chmod(0o755)
    env = {**os.environ, "PATH": f"{tmp_path}:{os.environ['PATH']}"}
    selection = Selection(nodelist="n1")
    if command == "check":
        report = check_fleet(str(lock), selection, envsnap=["envsnap"], timeout=30, env=env)
        assert [(r.node, r.verdict, r.reason) for r in report.results] == [("n1", "compatible", "")]
    else:
        fleet = capture_fleet(selection, envsnap=["envsnap"], timeout=30, env=env)
        assert list(fleet.nodes) == ["n1"] and fleet.unreachable == {}


@pytest.mark.parametrize("command", ["check", "capture"])
def test_what_a_node_said_before_it_missed_the_deadline_reaches_the_check_not_the_fleet_file(
    tmp_path: Path, command: str
) -> None:
    """srun's standard error of a node that did not answer in time was dropped: a node still waiting on its
    driver read only "no answer within 2 s". ``fleet check`` reads it (the node's notes, its last other line);
    ``fleet capture`` records none of it in FLEET.toml, where a capture's first line would name a path it redacts."""

    from envsnap.fleet import Selection, capture_fleet, check_fleet

    lock = tmp_path / "envsnap.lock"
    lockfile.dump(sample_lock(), lock)
    said = "echo 'capturing /home/alice/venv' >&2; echo 'envsnap fleet node: waiting for nvml (at most 1.5 s)' >&2"
    fakes = {
        "scontrol": "echo n1\n",
        "sinfo": "echo 'n1|idle|debug*|none'\n",
        "srun": f"{said}\nexec sleep 30\n",
        "scancel": "exit 0\n",
    }
    env = _fake_slurm(tmp_path, **fakes)
    selection = Selection(nodelist="n1")
    if command == "check":
        report = check_fleet(str(lock), selection, envsnap=["envsnap"], timeout=2, env=env)
        assert [(r.node, r.verdict, r.reason) for r in report.results] == [
            (
                "n1",
                "unreachable",
                "no answer within 2 s: it was waiting for its NVIDIA driver (NVML, at most 1.5 s; a hung driver?); "
                "--gpu-timeout 1 ends that wait in time for the node to answer with its driver hung (--gpus none "
                "does not: the node asks NVML for every lock), or a longer --timeout gives it time; "
                "it said 'capturing /home/alice/venv'",
            )
        ]
    else:
        fleet = capture_fleet(selection, envsnap=["envsnap"], timeout=2, env=env)
        assert (list(fleet.nodes), fleet.unreachable) == ([], {"n1": "no answer within 2 s"})


def test_a_node_whose_environment_interpreter_hangs_names_it_and_the_timeout(tmp_path: Path) -> None:
    """A node whose environment's interpreter never answered envsnap's probe read only "no answer within 4 s": what
    hung, and where, was not said. ``fleet node`` notes the interpreter it waits on, and the check names it."""
    import os
    import signal

    from envsnap.fleet import Selection, check_fleet

    lock = tmp_path / "envsnap.lock"
    lockfile.dump(sample_lock(), lock)
    venv = tmp_path / "venv"
    (venv / "bin").mkdir(parents=True)
    (venv / "pyvenv.cfg").write_text("home = /usr/bin\n")
    pid = tmp_path / "hung.pid"
    interpreter = venv / "bin" / "python"
    interpreter.write_text(f"#!/bin/sh\necho $$ > {pid}\nexec sleep 60\n")  # a Python that never answers
    interpreter.chmod(0o755)
    fakes = {
        "scontrol": "echo n1\n",
        "sinfo": "echo 'n1|idle|debug*|none'\n",
        # The task itself: ``fleet node`` in the node's environment, as srun runs it.
        "srun": f'while [ "$1" != -- ]; do shift; done; shift\nexport SLURM_STEP_ID=0 VIRTUAL_ENV={venv}\nexec "$@"\n',
        "scancel": "exit 0\n",
    }
    for name, body in fakes.items():
        (tmp_path / name).write_text("#!/bin/sh\n" + body)
        (tmp_path / name).chmod(0o755)
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "CONDA_PREFIX")}
    env.update(PATH=f"{tmp_path}:{os.environ['PATH']}", PYTHONPATH=str(Path(__file__).resolve().parents[2]))
    try:
        report = check_fleet(
            str(lock), Selection(nodelist="n1"), envsnap=[sys.executable, "-m", "envsnap"], timeout=4, env=env
        )
    finally:
        if pid.exists():  # a session of its own, and no Slurm here to cancel the step it ran in
            os.kill(int(pid.read_text()), signal.SIGKILL)
    assert [(r.node, r.verdict, r.reason) for r in report.results] == [
        (
            "n1",
            "unreachable",
            f"no answer within 4 s: its environment's interpreter {str(interpreter)!r} did not answer envsnap's probe "
            "in that time (the node waits for it at most 120 s; a hung interpreter, or a file system that does not "
            "answer?)",
        )
    ]


def test_inside_a_job_a_node_of_its_allocation_is_a_step_and_any_other_a_job_of_its_own(tmp_path: Path) -> None:
    """Run in a job (salloc, ``srun --pty bash``, a batch script before its training step), every srun inherited
    the job: a node outside the allocation was "unreachable: Unable to create step for job 13: Requested node
    configuration is not available", and one inside waited for CPUs the job's own step held."""
    from envsnap.fleet.slurm import run_on_nodes

    log = tmp_path / "srun.log"
    fakes = {
        "scontrol": 'case "$1 $2 $3" in "show hostnames n[1-2]") echo n1; echo n2 ;; *) exit 1 ;; esac\n',
        "srun": f'echo "$* | job=$SLURM_JOB_ID,$SLURM_JOBID cpus=$SLURM_CPUS_PER_TASK acct=$SLURM_ACCOUNT" >> {log}\n',
    }
    for name, body in fakes.items():
        (tmp_path / name).write_text("#!/bin/sh\n" + body)
        (tmp_path / name).chmod(0o755)
    job = {
        "SLURM_JOB_ID": "13",
        "SLURM_JOBID": "13",
        "SLURM_JOB_NODELIST": "n[1-2]",
        "SLURM_NODELIST": "n[1-2]",
        "SLURM_STEP_ID": "0",
        "SLURM_CPUS_PER_TASK": "2",
        "SLURM_NNODES": "2",
    }
    env = {"PATH": f"{tmp_path}:/usr/bin:/bin", "SLURM_ACCOUNT": "ml", **job}
    runs = run_on_nodes(
        [NodeState("n1", "idle", partition="debug"), NodeState("n3", "idle", partition="debug")],
        ["envsnap", "fleet", "node", "l"],
        env=env,
        timeout=30,
        job_name="envsnap-fleet-test",
    )
    assert sorted(runs) == ["n1", "n3"]
    lines = {line.split("--nodelist=")[1].split()[0]: line for line in log.read_text().splitlines()}
    # n1 is the job's: a step of it, sharing the CPUs its other steps hold.
    assert "--overlap" in lines["n1"] and lines["n1"].endswith("job=13,13 cpus=2 acct=ml"), lines["n1"]
    # n3 is not: a job of its own, shaped by fleet check's options alone; what the user chose for every job stays.
    assert "--overlap" not in lines["n3"] and lines["n3"].endswith("job=, cpus= acct=ml"), lines["n3"]


# ------------------------------------------------------------------------------------- the GPUs a node is given


def _fake_slurm(tmp_path: Path, **bodies: str) -> dict[str, str]:
    """Fake Slurm commands (``name=body`` of a sh script) first on PATH; the environment that finds them."""
    import os

    for name, body in bodies.items():
        (tmp_path / name).write_text("#!/bin/sh\n" + body)
        (tmp_path / name).chmod(0o755)
    return {**os.environ, "PATH": f"{tmp_path}:{os.environ['PATH']}"}


def _one_idle_node_logging_srun(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A cluster of one idle node, n1, whose ``srun`` writes its command line to the log returned and fails."""
    log = tmp_path / "srun.log"
    env = _fake_slurm(
        tmp_path,
        scontrol="echo n1\n",
        sinfo="echo 'n1|idle|debug*|(null)|up|none'\n",
        srun=f'echo "$*" >> {log}\nexit 1\n',
        scancel="exit 0\n",
    )
    monkeypatch.setenv("PATH", env["PATH"])
    return log


def test_in_a_job_its_own_nodes_are_tried_whatever_their_partition(tmp_path: Path) -> None:
    """A partition set down after a job began stops no step of that job (``srun --overlap``): run inside it, a
    node of the job was reported unreachable without being tried, while a node outside it is still not tried."""
    from envsnap.fleet import slurm

    env = _fake_slurm(
        tmp_path,
        scontrol='case "$3" in n1) echo n1 ;; *) echo n1; echo n2 ;; esac\n',
        sinfo="echo 'n1|mixed|debug*|(null)|down|none'; echo 'n2|idle|debug*|(null)|down|none'\n",
    )
    outside = slurm.resolve(slurm.Selection(nodelist="n[1-2]"), env)
    assert [(s.name, s.available) for s in outside] == [("n1", False), ("n2", False)]
    inside = slurm.resolve(slurm.Selection(nodelist="n[1-2]"), {**env, "SLURM_JOB_ID": "7", "SLURM_JOB_NODELIST": "n1"})
    assert [(s.name, s.available) for s in inside] == [("n1", True), ("n2", False)]
    default = slurm.resolve(slurm.Selection(), {**env, "SLURM_JOB_ID": "7", "SLURM_JOB_NODELIST": "n1"})
    assert [(s.name, s.available) for s in default] == [("n1", True), ("n2", False)]


def _gpu_lock(gpus: int = 8) -> Snapshot:
    return sample_lock(
        PythonPackage("torch", "2.4.0+cu121"),
        nvidia=Nvidia(driver_version="550.54.14", cuda_driver_version="12.4", source="nvml"),
        hardware=Hardware(memory_mib=1000, gpus=tuple(Gpu(i, "A100", "8.0", 81920) for i in range(gpus))),
    )


@pytest.mark.parametrize(
    ("lock_gpus", "option", "asked"),
    [
        (8, [], {"g1": "--gres=gpu:8", "c1": ""}),  # a GPU lock: every GPU Slurm lists on the node, none on c1
        (8, ["--gpus", "1"], {"g1": "--gres=gpu:1", "c1": ""}),
        (8, ["--gpus", "16"], {"g1": "--gres=gpu:8", "c1": ""}),  # no more than the node has
        (8, ["--gpus", "none"], {"g1": "", "c1": ""}),
        (8, ["--cpu-only"], {"g1": "", "c1": ""}),  # GPUs are not needed: none held
        (0, [], {"g1": "", "c1": ""}),  # a CPU-only lock
        (0, ["--gpus", "all"], {"g1": "--gres=gpu:8", "c1": ""}),
    ],
)
def test_a_gpu_lock_asks_slurm_for_the_gpus_of_each_node(
    tmp_path: Path,
    cli: Callable[..., Any],
    monkeypatch: pytest.MonkeyPatch,
    lock_gpus: int,
    option: list[str],
    asked: dict[str, str],
) -> None:
    """A cluster that constrains a job to its GPUs (cgroup ConstrainDevices=yes) shows a task that asked for no
    GPU none at all: a healthy GPU node was judged incompatible with a CUDA lock ("no GPU")."""
    lock = tmp_path / "envsnap.lock"
    lockfile.dump(_gpu_lock(lock_gpus) if lock_gpus else sample_lock(), lock)
    log = tmp_path / "srun.log"
    env = _fake_slurm(
        tmp_path,
        scontrol="echo g1; echo c1\n",
        sinfo="echo 'g1|idle|debug*|gpu:a100:8(S:0-1)|up|none'; echo 'c1|idle|debug*|(null)|up|none'\n",
        srun=f'echo "$*" >> {log}\nexit 1\n',
        scancel="exit 0\n",
    )
    monkeypatch.setenv("PATH", env["PATH"])
    report = tmp_path / "report.json"
    res = cli("fleet", "check", str(lock), "-w", "g1,c1", "-o", str(report), "--timeout", "30", *option)
    assert res.code == 3, res
    lines = {line.split("--nodelist=")[1].split()[0]: line.split(" -- ")[0] for line in log.read_text().splitlines()}
    for node, gres in asked.items():
        given = [word for word in lines[node].split() if word.startswith(("--gres", "--gpus"))]
        assert given == ([gres] if gres else []), lines[node]
    nodes = {n["node"]: n for n in json.loads(report.read_text())["nodes"]}
    expected = {node: int(gres.rpartition(":")[2]) if gres else 0 for node, gres in asked.items()}
    assert {node: nodes[node]["gpus_requested"] for node in asked} == expected
    if expected["g1"]:
        assert f"GPUs asked of Slurm: {expected['g1']} on g1" in res.out, res


def test_inside_a_job_the_report_says_its_own_nodes_were_given_the_jobs_gpus(
    tmp_path: Path, cli: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Run in a job, a node of it is checked in a step with the job's GPUs there (no ``--gres``): the report said
    "GPUs asked of Slurm: 8 on g2; none on g1", as if the job's own GPU node had been checked without a GPU."""
    lock = tmp_path / "envsnap.lock"
    lockfile.dump(_gpu_lock(8), lock)
    log = tmp_path / "srun.log"
    env = _fake_slurm(
        tmp_path,
        scontrol='case "$3" in g1) echo g1 ;; *) echo g1; echo g2 ;; esac\n',
        sinfo="echo 'g1|mixed|debug*|gpu:a100:8(S:0-1)|up|none'; echo 'g2|idle|debug*|gpu:a100:8(S:0-1)|up|none'\n",
        srun=f'echo "$*" >> {log}\nexit 1\n',
        scancel="exit 0\n",
    )
    monkeypatch.setenv("PATH", env["PATH"])
    for name, value in {"SLURM_JOB_ID": "7", "SLURM_JOB_NODELIST": "g1", "SLURM_STEP_ID": "0"}.items():
        monkeypatch.setenv(name, value)
    report = tmp_path / "report.json"
    res = cli("fleet", "check", str(lock), "-w", "g[1-2]", "-o", str(report), "--timeout", "30")
    assert res.code == 3, res
    assert "GPUs asked of Slurm: 8 on g2; this job's own on g1" in res.out, res
    nodes = {n["node"]: n for n in json.loads(report.read_text())["nodes"]}
    assert [(nodes[n]["gpus_requested"], nodes[n]["in_job"]) for n in ("g1", "g2")] == [(0, True), (8, False)]


def test_a_node_given_fewer_gpus_than_it_has_is_not_called_short_of_gpus() -> None:
    """``--gpus 1`` on a node of 8: the task sees 1 GPU, which the GPU count rule called fewer than the lock's 8."""
    from envsnap.compat.rules import gpu_memory
    from envsnap.compat.target import Target

    seen = gpu_memory.check(_gpu_lock(8), _gpu_lock(1), Target())  # the rule's finding, as the node sends it
    assert [(f.component, f.needed, f.found) for f in seen if f.severity == "warn"] == [("GPU count", "8", "1")]
    count = {
        "severity": "warn",
        "component": "GPU count",
        "needed": "8",
        "found": "1",
        "remedy": "multi-GPU code paths need adjusting (e.g. world size)",
        "rule": "gpu-memory",
    }
    answer = json.dumps(
        _answer(check={"findings": [count]}, facts={**dict.fromkeys(FACTS, ""), "gpus": "1x A100 (sm 8.0)"})
    )
    full = from_run(_run(answer, gpus=1), lock_digest="sha256:ab", timeout=5, node_gpus=8)
    assert full.verdict == "compatible" and full.warnings == () and full.gpus == 1
    assert full.facts["gpus"] == "1x A100 (sm 8.0), 1 of the node's 8"
    short = from_run(_run(answer, gpus=1), lock_digest="sha256:ab", timeout=5, node_gpus=4)
    assert short.verdict == "warnings"
    assert [(w.component, w.needed, w.found) for w in short.warnings] == [
        ("GPU count", "8", "4 (Slurm's count; the check was given 1)")
    ]
    # Given them all, the node's own count stands.
    whole = from_run(_run(answer, gpus=8), lock_digest="sha256:ab", timeout=5, node_gpus=8)
    assert whole.verdict == "warnings" and whole.warnings[0].found == "1"


def test_a_node_whose_gres_lists_gpus_without_a_driver_is_said_so_from_the_cuda_rules_finding() -> None:
    """The cuda rule's "no NVIDIA driver" on a node whose Gres lists GPUs names Slurm's count; a node without GPU
    Gres, or whose driver is there and hung (its driver fact is not ""), keeps the rule's own words."""
    from envsnap.compat.rules import cuda_present
    from envsnap.compat.target import Target

    lock = _gpu_lock(8)
    [finding] = cuda_present.check(lock, dataclasses.replace(lock, nvidia=None, hardware=Hardware()), Target())
    assert (finding.severity, finding.found) == ("fail", "no NVIDIA driver")
    failed = dataclasses.asdict(finding)
    answer = _answer(verdict="incompatible", check={"findings": [failed]})
    result = from_run(_run(json.dumps(answer), returncode=3), lock_digest="sha256:ab", timeout=5, node_gpus=8)
    [cuda] = result.failures
    assert cuda.found == "no NVIDIA driver, while Slurm lists 8 GPUs on the node (its Gres)", cuda
    assert (
        cuda.remedy == finding.remedy + "; where the node has no GPU, take gpu out of its Gres in Slurm's configuration"
    )
    plain = from_run(_run(json.dumps(answer), returncode=3), lock_digest="sha256:ab", timeout=5, node_gpus=0)
    assert plain.failures[0].found == "no NVIDIA driver"
    hung = _answer(
        verdict="incompatible",
        check={"findings": [failed]},
        facts={**dict.fromkeys(FACTS, ""), "driver": "hung: no answer within 10 s"},
    )
    kept = from_run(_run(json.dumps(hung), returncode=3), lock_digest="sha256:ab", timeout=5, node_gpus=8)
    assert kept.failures[0].found == "no NVIDIA driver"
    # Another rule's finding, on such a node, is its own.
    other = _answer(verdict="incompatible", check={"findings": [{**failed, "rule": "driver"}]})
    assert (
        from_run(_run(json.dumps(other), returncode=3), lock_digest="sha256:ab", timeout=5, node_gpus=8)
        .failures[0]
        .found
        == "no NVIDIA driver"
    )


def test_a_gpu_count_in_superscript_digits_from_a_node_is_no_traceback() -> None:
    """A node's answer is untrusted: its GPU count's "needed" of "\u00b2" passed str.isdigit, and int() of it raised a
    ValueError that ended a ``--gpus 1`` check of every node with a traceback."""
    count = {"severity": "warn", "component": "GPU count", "needed": "\u00b2", "found": "1", "remedy": "", "rule": "x"}
    answer = json.dumps(_answer(check={"findings": [count]}))
    result = from_run(_run(answer, gpus=1), lock_digest="sha256:ab", timeout=5, node_gpus=8)
    assert result.verdict == "warnings", result
    assert [(w.component, w.needed, w.found) for w in result.warnings] == [
        ("GPU count", "\u00b2", "8 (Slurm's count; the check was given 1)")
    ]


def test_a_node_whose_gpus_other_jobs_hold_says_so_within_the_timeout(tmp_path: Path) -> None:
    """srun waited for the GPUs as long as fleet check waited for its answer: the node read "no answer within
    5 s", as a dead one does. srun now gives up first and says why."""
    import time

    from envsnap.fleet.slurm import run_on_nodes

    # As srun --immediate=N does when the node's GPUs stay taken: N seconds, then the error.
    env = _fake_slurm(
        tmp_path,
        srun='for a in "$@"; do case "$a" in --immediate=*) sleep "${a#--immediate=}" ;; esac; done\n'
        "echo 'srun: error: Unable to allocate resources: Requested nodes are busy' >&2\nexit 1\n",
        scancel="exit 0\n",
    )
    started = time.monotonic()
    runs = run_on_nodes(
        [NodeState("g1", "mixed", partition="gpu", gpus=8)],
        ["envsnap", "fleet", "node", "l"],
        env=env,
        timeout=5,
        gpus="all",
    )
    assert time.monotonic() - started < 6
    result = from_run(runs["g1"], lock_digest="sha256:ab", timeout=5, node_gpus=8)
    assert result.verdict == "unreachable", result
    assert result.reason.startswith("srun: error: Unable to allocate resources: Requested nodes are busy")
    assert result.reason.endswith(
        "(asked for 8 GPUs: other jobs hold them, or its CPUs; --gpus N asks for fewer, --gpus none checks it "
        "without its GPUs)"
    ), result.reason
    # Asked for one GPU, fewer is no remedy: the reason does not offer it, but the check without it.
    one = dataclasses.replace(runs["g1"], gpus=1)
    reason = from_run(one, lock_digest="sha256:ab", timeout=5, node_gpus=8).reason
    assert reason.endswith(
        "(asked for 1 GPU: other jobs hold every GPU of the node, or its CPUs; --gpus none checks it without its GPU)"
    ), reason


def test_a_node_whose_cpus_other_jobs_hold_says_how_it_can_be_checked() -> None:
    """Asked for no GPU (a CPU lock, --gpus none), a node other jobs fill read srun's bare "Requested nodes are
    busy", after the whole --timeout, as a node asked for its GPUs no longer does: nothing said why, nor what checks
    it. A step of the job that holds it does (srun --overlap), or a check once its jobs end."""
    busy = "srun: error: Unable to allocate resources: Requested nodes are busy"
    result = from_run(_run("", returncode=1, stderr=busy + "\n"), lock_digest="sha256:ab", timeout=5, node_gpus=8)
    assert result.verdict == "unreachable", result
    assert result.reason == (
        f"{busy} (other jobs hold its CPUs or memory: run inside the job that holds the node, envsnap fleet asks it "
        "in a step of that job; or ask again once they end)"
    ), result.reason


@pytest.mark.parametrize("command", ["check", "capture"])
def test_no_srun_reads_the_input_fleet_check_was_given(tmp_path: Path, command: str) -> None:
    """Every srun inherited envsnap's standard input, which srun forwards to its task: from a terminal, up to 64
    sruns read what the user typed meanwhile; in ``while read node; do envsnap fleet check ...; done < nodes``
    the first one ate the rest of the loop's list."""
    import os
    import subprocess
    import sys

    lock = tmp_path / "envsnap.lock"
    lockfile.dump(sample_lock(), lock)
    got = tmp_path / "srun.stdin"
    env = _fake_slurm(
        tmp_path,
        scontrol="echo n1; echo n2\n",
        sinfo="echo 'n1|idle|debug*|(null)|up|none'; echo 'n2|idle|debug*|(null)|up|none'\n",
        srun=f'cat >> {got}\ncase " $* " in *" --input=none "*) echo "--input=none" >> {got} ;; esac\nexit 1\n',
        scancel="exit 0\n",
    )
    env["PYTHONPATH"] = os.pathsep.join(sys.path)
    targets = [str(lock)] if command == "check" else ["-o", str(tmp_path / "fleet.toml")]
    proc = subprocess.run(
        [sys.executable, "-m", "envsnap", "fleet", command, *targets, "-w", "n[1-2]", "--timeout", "30"],
        env=env,
        input="node7\nnode8\n",
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 3, proc
    # Each srun was given no input (it read none) and told to give its task none.
    assert got.read_text().splitlines() == ["--input=none", "--input=none"]


def test_capture_counts_one_node_as_one(
    tmp_path: Path, cli: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """It wrote "wrote fleet.toml: 1 nodes captured"."""
    lock = tmp_path / "envsnap.lock"
    lockfile.dump(sample_lock(), lock)
    env = _fake_slurm(
        tmp_path,
        scontrol="echo n1\n",
        sinfo="echo 'n1|idle|debug*|(null)|up|none'\n",
        srun=f"cat {lock}\n",
        scancel="exit 0\n",
    )
    monkeypatch.setenv("PATH", env["PATH"])
    out = tmp_path / "fleet.toml"
    res = cli("fleet", "capture", "-w", "n1", "-o", str(out), "--timeout", "30")
    assert res.code == 0, res
    assert f"wrote {out}: 1 node captured" in res.err + res.out, res


# ``python -m envsnap`` whose prolog waits 60 s for NVML (``PROLOG_NVML_TIMEOUT``, 5 s) before calling it hung.
_LONG_PROLOG_WAIT = (
    "import envsnap.fleet as f; f.PROLOG_NVML_TIMEOUT = {seconds}; import runpy; "
    "runpy.run_module('envsnap', run_name='__main__', alter_sys=True)"
)


@gpu_fakes.requires_gcc
def test_the_prolog_of_a_cpu_lock_does_not_wait_for_a_hung_driver(
    tmp_path: Path, cli: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A prolog runs before every job: on a node whose driver hangs, each job of a CPU-only lock started 5 s late
    (60 s here), the prolog waiting for an answer of NVML that no rule reads for the lock, nor the prolog (the
    matrix's facts are ``fleet node``'s). It asks NVML nothing now; a CUDA lock's prolog still calls the driver
    hung."""
    here = tmp_path / "here.lock"
    assert cli("capture", "-o", str(here)).code == 0
    snap = lockfile.load(here)
    cpu = tmp_path / "cpu.lock"
    lockfile.dump(dataclasses.replace(snap, nvidia=None, cuda=None, frameworks={}), cpu)
    gpu = tmp_path / "gpu.lock"
    torch = Framework(name="torch", version="2.5.1+cu124", cuda_version="12.4")
    lockfile.dump(dataclasses.replace(snap, frameworks={"torch": torch}), gpu)
    nvml = gpu_fakes.FakeNvml(hang=True, gpus=(gpu_fakes.FakeGpu("NVIDIA H100 80GB HBM3", (9, 0), 80 << 30),))
    env = gpu_fakes.nvml_environ(gpu_fakes.build_fake_nvml(tmp_path, nvml))
    env.pop("SLURMD_NODENAME", None)

    def prolog(lock: Path, seconds: float) -> tuple[subprocess.CompletedProcess[str], float]:
        started = time.monotonic()
        command = [sys.executable, "-c", _LONG_PROLOG_WAIT.format(seconds=seconds), "fleet", "prolog", str(lock)]
        proc = subprocess.run(command, env=env, cwd=tmp_path, capture_output=True, text=True, timeout=120)
        return proc, time.monotonic() - started

    proc, elapsed = prolog(cpu, 60)
    assert elapsed < 20, f"the prolog waited {elapsed:.1f} s for a driver no rule reads"
    assert (proc.returncode, proc.stderr) == (0, ""), proc
    assert proc.stdout.count("\n") == 1 and " can run " in proc.stdout, proc.stdout
    proc, _ = prolog(gpu, 1)
    assert proc.returncode == 3, proc
    assert "found the NVIDIA driver did not answer: NVML did not answer within 1 s (a hung driver?)" in proc.stderr


# --------------------------------------------------------------------------------------- a node whose driver hangs

_HUNG_H100 = gpu_fakes.FakeNvml(hang=True, gpus=(gpu_fakes.FakeGpu("NVIDIA H100 80GB HBM3", (9, 0), 80 * 1024**3),))


def _fleet_node(lock: Path, env: dict[str, str], *extra: str) -> tuple[int, dict[str, Any], str, float]:
    """``envsnap fleet node LOCK`` as srun starts it on node n1: its exit code, answer, stderr and seconds taken."""
    started = time.monotonic()
    proc = subprocess.run(
        [sys.executable, "-m", "envsnap", "fleet", "node", str(lock), *extra],
        env={**env, "SLURMD_NODENAME": "n1"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    elapsed = time.monotonic() - started
    assert proc.stdout.startswith("{"), proc.stderr
    return proc.returncode, json.loads(proc.stdout), proc.stderr, elapsed


@gpu_fakes.requires_gcc
def test_fleet_node_on_a_hung_driver_waits_its_gpu_timeout_and_says_hung_not_no_driver(tmp_path: Path) -> None:
    """``fleet node`` on a node whose driver hangs waited the fixed 10 s NVML timeout (no option shortened it, as
    ``check --gpu-timeout`` does), then answered driver "", as a node without a driver does: the fleet matrix put
    the hung node in the driverless nodes' row. It takes --gpu-timeout, and its driver fact says the driver hung."""
    import os

    env = {k: v for k, v in os.environ.items() if k not in ("LD_LIBRARY_PATH", "FAKE_NVML_CONFIG")}
    lock = tmp_path / "here.lock"
    subprocess.run([sys.executable, "-m", "envsnap", "capture", "-o", str(lock)], env=env, check=True, timeout=300)
    code, without, _, _ = _fleet_node(lock, env)
    assert (code, without["facts"]["driver"]) == (0, "")
    hung_env = gpu_fakes.nvml_environ(gpu_fakes.build_fake_nvml(tmp_path, _HUNG_H100), env)
    code, answer, err, elapsed = _fleet_node(lock, hung_env, "--gpu-timeout", "1.5")
    assert 1.5 <= elapsed < 9, f"fleet node took {elapsed:.1f} s with --gpu-timeout 1.5"
    assert (code, err) == (0, "")
    assert answer["facts"]["driver"] == "hung: no answer within 1.5 s"
    assert answer["verdict"] == without["verdict"] == "compatible"  # the CPU lock needs no driver
    # Read by fleet check: not the driverless node's row.
    hung = from_run(_run(json.dumps({**answer, "node": "n1"})), lock_digest=answer["lock_digest"], timeout=60)
    none = from_run(_run(json.dumps({**without, "node": "n1"})), lock_digest=answer["lock_digest"], timeout=60)
    assert hung.facts["driver"] == "hung: no answer within 1.5 s" and hung.key() != none.key()
    # A CUDA lock fails there, with the remedy that names the option.
    gpu_lock = tmp_path / "gpu.lock"
    from envsnap.model import Cuda

    cuda = Cuda(runtime_version="12.4", runtime_source="pip")
    lockfile.dump(dataclasses.replace(locks_for_this_host(lockfile.load(lock))["gpu"], cuda=cuda), gpu_lock)
    code, answer, _, elapsed = _fleet_node(gpu_lock, hung_env, "--gpu-timeout", "1")
    assert 1 <= elapsed < 9 and code == 3
    [cuda] = [f for f in answer["check"]["findings"] if f["rule"] == "cuda"]
    assert cuda["found"] == "the NVIDIA driver did not answer: NVML did not answer within 1 s (a hung driver?)"
    assert cuda["remedy"].endswith("may need more than the 1 s waited: pass --gpu-timeout SECONDS"), cuda


@pytest.mark.parametrize("command", ["node", "check"])
@pytest.mark.parametrize(
    ("value", "line"),
    [
        ("0", "argument --gpu-timeout: '0': expected seconds > 0 and <= 86400"),
        ("soon", "argument --gpu-timeout: not a number of seconds: 'soon'"),
    ],
)
def test_a_bad_fleet_gpu_timeout_is_one_line_and_exit_2(
    tmp_path: Path, cli: Callable[..., Any], command: str, value: str, line: str
) -> None:
    lock = tmp_path / "envsnap.lock"
    lockfile.dump(sample_lock(), lock)
    res = cli("fleet", command, str(lock), "--gpu-timeout", value)
    assert (res.code, res.out, res.err) == (2, "", f"envsnap: error: {line}\n"), res
    if command == "check":  # fleet capture takes the same option, refused alike
        res = cli("fleet", "capture", "-o", str(tmp_path / "fleet.toml"), "--gpu-timeout", value)
        assert (res.code, res.out, res.err) == (2, "", f"envsnap: error: {line}\n"), res


@pytest.mark.parametrize("command", ["check", "capture"])
@pytest.mark.parametrize(("gpu_timeout", "timeout"), [("30", "5"), ("20", "20")])
def test_a_gpu_timeout_not_below_the_timeout_is_refused_before_slurm_is_asked(
    tmp_path: Path,
    cli: Callable[..., Any],
    monkeypatch: pytest.MonkeyPatch,
    command: str,
    gpu_timeout: str,
    timeout: str,
) -> None:
    """``fleet check --gpu-timeout 30 --timeout 5`` was accepted: the driver's wait could never end before the
    node's whole answer was due, so a hung node was "unreachable: no answer within 5 s", never "hung". Refused,
    one line and exit 2, before Slurm is asked (as a bad --timeout is)."""
    lock = tmp_path / "envsnap.lock"
    lockfile.dump(sample_lock(), lock)
    log = tmp_path / "slurm.log"
    env = _fake_slurm(tmp_path, **{name: f'echo "{name}" >> {log}\nexit 1\n' for name in ("scontrol", "sinfo", "srun")})
    monkeypatch.setenv("PATH", env["PATH"])
    first = [str(lock)] if command == "check" else ["-o", str(tmp_path / "fleet.toml")]
    res = cli("fleet", command, *first, "-w", "n1", "--gpu-timeout", gpu_timeout, "--timeout", timeout)
    assert (res.code, res.out) == (2, ""), res
    assert res.err == (
        f"envsnap: error: --gpu-timeout {gpu_timeout}: must be less than --timeout {timeout}, which counts each "
        "node's whole answer, the driver's wait included\n"
    ), res
    assert not log.exists(), log.read_text()
    assert not (tmp_path / "fleet.toml").exists()


def test_fleet_capture_passes_its_gpu_timeout_to_every_node(
    tmp_path: Path, cli: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each node's ``capture`` is given the wait ``fleet capture --gpu-timeout`` names, as ``fleet check`` gives its
    nodes' ``fleet node`` (none when not given). fleet capture had no --gpu-timeout: a hung driver held every
    node's capture for the fixed 10 s."""
    log = _one_idle_node_logging_srun(tmp_path, monkeypatch)
    for extra in ([], ["--gpu-timeout", "2.5"]):
        log.unlink(missing_ok=True)
        out = tmp_path / "fleet.toml"
        res = cli(
            "fleet", "capture", "-w", "n1", "--timeout", "30", "--envsnap", "/opt/envsnap", "-o", str(out), *extra
        )
        assert res.code == 3, res
        (line,) = log.read_text().splitlines()
        assert line.split(" -- ", 1)[1] == f"/opt/envsnap capture -o - {' '.join(extra)}".strip(), line


def test_fleet_check_passes_its_gpu_timeout_to_every_node(
    tmp_path: Path, cli: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each node's ``fleet node`` is given the wait ``fleet check --gpu-timeout`` names (none when not given: the
    node's own default, and a node's older envsnap is not handed an option it may not know)."""
    lock = tmp_path / "envsnap.lock"
    lockfile.dump(sample_lock(), lock)
    log = _one_idle_node_logging_srun(tmp_path, monkeypatch)
    for extra in ([], ["--gpu-timeout", "2.5"]):
        log.unlink(missing_ok=True)
        res = cli("fleet", "check", str(lock), "-w", "n1", "--timeout", "30", "--envsnap", "/opt/envsnap", *extra)
        assert res.code == 3, res
        (line,) = log.read_text().splitlines()
        assert line.split(" -- ", 1)[1] == f"/opt/envsnap fleet node {lock} {' '.join(extra)}".strip(), line


@pytest.mark.parametrize("command", ["check", "capture"])
@pytest.mark.parametrize(
    ("timeout", "extra", "passed"),
    [
        ("8", [], "--gpu-timeout 4.0"),  # the nodes' 10 s would outlast the whole answer: half of it
        ("12", [], "--gpu-timeout 6.0"),  # 10 s would leave 2 s for srun, start-up and the rest of the answer
        ("19", [], "--gpu-timeout 9.5"),
        ("20", [], ""),  # half is the nodes' own 10 s: nothing passed, an older envsnap on the nodes still answers
        ("8", ["--gpu-timeout", "7"], "--gpu-timeout 7.0"),  # a given wait is passed as given
    ],
)
def test_a_timeout_without_room_for_the_nodes_gpu_wait_passes_them_half_of_it(
    tmp_path: Path,
    cli: Callable[..., Any],
    monkeypatch: pytest.MonkeyPatch,
    command: str,
    timeout: str,
    extra: list[str],
    passed: str,
) -> None:
    """``fleet check LOCK --timeout 8`` without --gpu-timeout passed the nodes no GPU wait: they kept their 10 s, and
    a node whose driver hangs was "unreachable: no answer within 8 s", never hung. Where half of --timeout is less
    than the nodes' 10 s, they are given half of it; fleet capture's nodes likewise."""
    lock = tmp_path / "envsnap.lock"
    lockfile.dump(sample_lock(), lock)
    log = _one_idle_node_logging_srun(tmp_path, monkeypatch)
    first = [str(lock)] if command == "check" else ["-o", str(tmp_path / "fleet.toml")]
    res = cli("fleet", command, *first, "-w", "n1", "--timeout", timeout, "--envsnap", "/opt/envsnap", *extra)
    assert res.code == 3, res
    (line,) = log.read_text().splitlines()
    node = f"fleet node {lock}" if command == "check" else "capture -o -"
    assert line.split(" -- ", 1)[1] == f"/opt/envsnap {node} {passed}".strip(), line


def test_an_output_that_is_the_lock_itself_is_refused_before_any_node_is_asked(
    tmp_path: Path, cli: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """``fleet check LOCK -o LOCK`` (or a link to it, or another spelling of its path) replaced the lock with the
    JSON report once every node had answered. Refused now: one line, exit 2, no node asked, the lock unchanged."""
    import os

    import envsnap.fleet

    lock = tmp_path / "envsnap.lock"
    lockfile.dump(sample_lock(), lock)
    text = lock.read_bytes()
    asked: list[str] = []
    monkeypatch.setattr(envsnap.fleet, "check_fleet", lambda *a, **k: asked.append("check"))
    (tmp_path / "link.json").symlink_to(lock)
    (tmp_path / "sub").mkdir()
    monkeypatch.chdir(tmp_path / "sub")
    for output in (lock, tmp_path / "link.json", os.path.join("..", "sub", "..", "envsnap.lock")):
        res = cli("fleet", "check", str(lock), "-w", "n1", "-o", str(output))
        assert res.code == 2 and len(res.err.strip().splitlines()) == 1, res
        assert "the lock" in res.err and "name another file" in res.err, res.err
    assert asked == []
    assert lock.read_bytes() == text


# ------------------------------------------------------------------------------------- a node whose slurmd died


def test_a_node_whose_slurmd_does_not_answer_is_not_responding_not_tried_and_not_busy(
    tmp_path: Path, cli: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A node whose slurmd died reads idle (or completing) until Slurm's SlurmdTimeout: srun was tried there and
    the node read "Requested nodes are busy" for the whole --timeout, as one whose GPUs a job holds. Its slurmd's
    port (scontrol's NodeAddr and Port) is asked first: nothing listens there, so it is not tried."""
    import socket

    listening = socket.socket()
    listening.bind(("127.0.0.1", 0))
    listening.listen()
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))  # bound, never listening: a connection is refused
    alive, dead = listening.getsockname()[1], closed.getsockname()[1]
    lock = tmp_path / "envsnap.lock"
    lockfile.dump(sample_lock(), lock)
    log = tmp_path / "srun.log"
    env = _fake_slurm(
        tmp_path,
        scontrol='case "$1 $2" in "show hostnames") echo n1; echo n2 ;;\n'
        f'"show node") echo "NodeName=n1 Arch=x86_64 NodeAddr=127.0.0.1 NodeHostName=h1 Port={alive} Version=22.05"\n'
        f'  echo "NodeName=n2 Arch=x86_64 NodeAddr=127.0.0.1 NodeHostName=h2 Port={dead} Version=22.05" ;;\n'
        "*) exit 1 ;; esac\n",
        sinfo="echo 'n1|idle|debug*|(null)|up|none'; echo 'n2|completing|debug*|(null)|up|none'\n",
        srun=f'echo "$*" >> {log}\necho "srun: error: Unable to allocate resources: Requested nodes are busy" >&2\n'
        "exit 1\n",
        scancel="exit 0\n",
    )
    monkeypatch.setenv("PATH", env["PATH"])
    report = tmp_path / "report.json"
    try:
        res = cli("fleet", "check", str(lock), "-w", "n[1-2]", "-o", str(report), "--timeout", "30")
    finally:
        listening.close()
        closed.close()
    assert res.code == 3, res
    tried = [line.split("--nodelist=")[1].split()[0] for line in log.read_text().splitlines()]
    assert tried == ["n1"]
    nodes = {n["node"]: n for n in json.loads(report.read_text())["nodes"]}
    dead_node = nodes["n2"]
    assert dead_node["verdict"] == "unreachable", dead_node
    assert dead_node["reason"].startswith(f"not responding: its slurmd does not answer at 127.0.0.1:{dead}"), dead_node
    assert "busy" not in dead_node["reason"] and "Slurm still reports it completing" in dead_node["reason"]
    assert "n2: unreachable" in res.out and "not responding" in res.out, res


@pytest.mark.parametrize("witness", [True, False])
def test_a_lone_node_whose_slurmd_refuses_is_silent_only_where_another_nodes_slurmd_answers_here(
    tmp_path: Path, cli: Callable[..., Any], monkeypatch: pytest.MonkeyPatch, witness: bool
) -> None:
    """When no selected node's slurmd accepts a connection, the probe may be what is blocked (a firewall between
    the login and the compute nodes): another node Slurm reports responding is asked. One that answers shows the
    ports reachable from here, and the refusing node is silent; else Slurm's state stands and the node is tried."""
    import socket

    listening = socket.socket()
    listening.bind(("127.0.0.1", 0))
    listening.listen()
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    other = listening.getsockname()[1] if witness else closed.getsockname()[1]
    dead = closed.getsockname()[1]
    lock = tmp_path / "envsnap.lock"
    lockfile.dump(sample_lock(), lock)
    log = tmp_path / "srun.log"
    env = _fake_slurm(
        tmp_path,
        scontrol='case "$1 $2" in "show hostnames") echo n2 ;;\n'
        f'"show node") echo "NodeName=n1 NodeAddr=127.0.0.1 Port={other} State=IDLE Version=22.05"\n'
        f'  echo "NodeName=n2 NodeAddr=127.0.0.1 Port={dead} State=IDLE Version=22.05" ;;\n'
        "*) exit 1 ;; esac\n",
        sinfo="echo 'n2|idle|debug*|(null)|up|none'\n",
        srun=f'echo "$*" >> {log}\necho "srun: error: Task launch failed: Communication connection failure" >&2\n'
        "exit 1\n",
        scancel="exit 0\n",
    )
    monkeypatch.setenv("PATH", env["PATH"])
    report = tmp_path / "report.json"
    try:
        res = cli("fleet", "check", str(lock), "-w", "n2", "-o", str(report), "--timeout", "30")
    finally:
        listening.close()
        closed.close()
    assert res.code == 3, res
    reason = json.loads(report.read_text())["nodes"][0]["reason"]
    if witness:
        assert not log.exists()
        assert reason.startswith(f"not responding: its slurmd does not answer at 127.0.0.1:{dead}"), reason
    else:
        assert "--nodelist=n2" in log.read_text()
        assert reason == "srun: error: Task launch failed: Communication connection failure", reason


def test_a_node_slurm_flags_not_responding_is_said_so() -> None:
    from envsnap.fleet.report import unreachable

    for state in ("idle*", "completing*", "down*"):
        reason = unreachable(NodeState("n1", state)).reason
        assert reason == f"not responding: Slurm reports the node {state}", reason
    assert unreachable(NodeState("n1", "drained", "maint")).reason == "Slurm reports the node drained (maint)"


def test_a_node_slurm_reports_powered_down_or_changing_power_is_not_tried_and_said_so() -> None:
    """sinfo marks a node's power state with a suffix (``idle~`` powered off, ``idle#`` powering up, ``idle%``
    powering down, ``idle!`` to be powered down): none holds the word "power", so such a node read available and
    was tried, where a srun waits out --timeout for a node to boot (docs/fleet.md says it is not tried)."""
    from envsnap.fleet.report import unreachable

    for state, why in (
        ("idle~", "powered down"),
        ("idle#", "powering up"),
        ("idle%", "powering down"),
        ("idle!", "to be powered down"),
    ):
        node = NodeState("n1", state)
        assert not node.available, state
        assert unreachable(node).reason == f"Slurm reports the node {state} ({why})", unreachable(node).reason
    assert NodeState("n1", "idle").available and NodeState("n1", "mixed-").available


# ------------------------------------------------------------------------------------- a job's own GPUs


@pytest.mark.parametrize(
    ("scontrol_job", "job_env"),
    [
        # What ``scontrol show job -d`` says of each node of the job (Slurm 22.05), its nodes as a hostlist.
        ("echo '   JOB_GRES=gpu:2'; echo '     Nodes=g[1-2] CPU_IDs=0 Mem=0 GRES=gpu:1(IDX:0)'", {}),
        # scontrol cannot say: the variables Slurm set for the job on this node.
        ("exit 1", {"SLURM_GPUS_ON_NODE": "1"}),
        ("exit 1", {"SLURM_JOB_GPUS": "3"}),
    ],
)
def test_inside_a_job_its_own_nodes_are_judged_by_slurms_gpu_count_not_the_jobs(
    tmp_path: Path, scontrol_job: str, job_env: dict[str, str]
) -> None:
    """Run in a job granted 1 of a node's 8 GPUs, the node is checked in a step with that 1 GPU: its GPUs fact
    said "1x A100" and the lock's 8 read "GPU count: needs 8, found 1", a warning `--gpus 1` from outside the job
    does not give, since the job's node counted as asked for no GPU."""
    from envsnap.fleet.report import build
    from envsnap.fleet.slurm import run_on_nodes

    count = {
        "severity": "warn",
        "component": "GPU count",
        "needed": "8",
        "found": "1",
        "remedy": "multi-GPU code paths need adjusting (e.g. world size)",
        "rule": "gpu-memory",
    }
    answer = tmp_path / "answer.json"
    facts = {**dict.fromkeys(FACTS, ""), "gpus": "1x A100 (sm 8.0)"}
    answer.write_text(json.dumps(_answer(node="g1", check={"findings": [count]}, facts=facts)))
    env = _fake_slurm(
        tmp_path,
        scontrol='case "$1 $2" in "show hostnames") echo g1; echo g2 ;; "show job") ' + scontrol_job + " ;; "
        "*) exit 1 ;; esac\n",
        srun=f"cat {answer}\n",
        scancel="exit 0\n",
    )
    state = NodeState("g1", "mixed", partition="gpu", gpus=8)
    command = ["envsnap", "fleet", "node", "l"]
    # From outside the job, asked for one GPU: the verdict the job's own node must read too.
    outside = run_on_nodes([state], command, env=env, timeout=30, gpus=1)
    job = {"SLURM_JOB_ID": "7", "SLURM_JOB_NODELIST": "g[1-2]", "SLURM_STEP_ID": "0", **job_env}
    inside = run_on_nodes([state], command, env={**env, **job}, timeout=30, gpus="all")
    assert inside["g1"].in_job and not outside["g1"].in_job
    for runs in (outside, inside):
        result = build("l", "sha256:ab", [state], runs, timeout=30).results[0]
        assert (result.verdict, result.warnings, result.gpus) == ("compatible", (), 1), result
        assert result.facts["gpus"] == "1x A100 (sm 8.0), 1 of the node's 8"


def test_the_gpus_asked_of_slurm_name_no_node_that_was_not_tried() -> None:
    """A drained node (or one outside the partition) runs no srun: the report said "GPUs
    asked of Slurm: 1 on node[1-2]; none on node3", as if node3 had been checked without its GPU."""
    from envsnap.fleet.report import build

    answer = json.dumps(_answer(facts={**dict.fromkeys(FACTS, ""), "gpus": "1x A100 (sm 8.0)"}))
    states = [NodeState("n1", "idle", gpus=1), NodeState("n3", "drained", "maint", gpus=1), NodeState("n9", "down")]
    report = build("l", "sha256:ab", states, {"n1": _run(answer, gpus=1)}, timeout=30)
    assert [r.verdict for r in report.results] == ["compatible", "unreachable", "unreachable"]
    assert report.gpus_asked() == "GPUs asked of Slurm: 1 on n1"


def test_a_node_of_a_reservation_begun_before_sinfo_says_reserved_is_not_tried(tmp_path: Path) -> None:
    """For a few seconds after a reservation begins sinfo still reports its nodes idle (until the controller's
    next pass): such a node was tried, and read "Requested nodes are busy" at the end of --timeout. A reservation
    of next year holds nothing now."""
    from envsnap.fleet import slurm
    from envsnap.fleet.report import unreachable

    env = _fake_slurm(
        tmp_path,
        scontrol='case "$1 $2" in "show hostnames") echo "$3" | tr , "\\n" ;;\n'
        '"show reservation") echo "ReservationName=r2 StartTime=2020-01-01T00:00:00 EndTime=2099-01-01T00:00:00'
        ' Duration=1 Nodes=n1 NodeCnt=1 Flags=SPEC_NODES State=ACTIVE"\n'
        '  echo "ReservationName=r3 StartTime=2098-01-01T00:00:00 EndTime=2099-01-01T00:00:00 Nodes=n2 State=INACTIVE"'
        " ;;\n*) exit 1 ;; esac\n",
        sinfo="echo 'n1|idle|debug*|(null)|up|none'; echo 'n2|idle|debug*|(null)|up|none'\n",
    )
    states = {s.name: s for s in slurm.resolve(slurm.Selection(nodelist="n1,n2"), env, timeout=60)}
    assert not states["n1"].available and states["n2"].available, states
    assert unreachable(states["n1"]).reason == (
        "Slurm holds the node for reservation r2 from 2020-01-01T00:00:00 until 2099-01-01T00:00:00"
    )


def test_a_node_held_by_the_named_reservation_is_tried_through_it() -> None:
    """``--reservation R``: a node R holds (sinfo's ``maint``/``reserved``) is available and its srun names R; a
    step of the job envsnap runs in keeps its job's reservation; a node of another reservation is not tried."""
    from envsnap.fleet.slurm import srun_command

    held = NodeState("node2", "maint", partition="debug", reservation="window")
    assert held.available and not NodeState("node2", "maint", partition="debug").available
    assert not NodeState("node2", "drained", reservation="window").available  # the reservation frees no other state
    argv = srun_command(held, ["true"], timeout=60, job_name="j")
    assert "--reservation=window" in argv and argv.index("--reservation=window") < argv.index("--")
    assert not any(
        a.startswith("--reservation") for a in srun_command(held, ["true"], timeout=60, job_name="j", step=True)
    )
    plain = NodeState("node1", "idle", partition="debug")
    assert not any(a.startswith("--reservation") for a in srun_command(plain, ["true"], timeout=60, job_name="j"))


@pytest.mark.parametrize("topology", [True, False])
def test_a_rack_whose_slurmd_ports_are_firewalled_from_here_is_tried_not_called_not_responding(
    tmp_path: Path, cli: Callable[..., Any], monkeypatch: pytest.MonkeyPatch, topology: bool
) -> None:
    """Where a firewall keeps this host from one rack's slurmd ports (another rack's reachable), every node of the
    blocked rack read "not responding" though Slurm reports it responding: one node whose slurmd answered here
    anywhere made every refusal a dead slurmd. A node is called not responding only where a node of its own rack
    (Slurm's leaf switch, else its address's /24) answers here; a node whose rack-mate answers is, as before."""
    import socket

    listening = socket.socket()
    listening.bind(("127.0.0.1", 0))
    listening.listen()
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    alive, dead = listening.getsockname()[1], closed.getsockname()[1]
    # rack1: n1 answers, n2's slurmd died; rack2 (n3, n4): its slurmd ports are blocked from here. Without a
    # topology the racks are told by their addresses' subnets (127.0.0.x, 127.0.1.x); with one, all share one.
    rack2 = "127.0.0.1" if topology else "127.0.1.1"
    nodes = [("n1", "127.0.0.1", alive), ("n2", "127.0.0.1", dead), ("n3", rack2, dead), ("n4", rack2, dead)]
    show_node = "".join(f'  echo "NodeName={n} NodeAddr={a} Port={p} State=IDLE Version=22.05"\n' for n, a, p in nodes)
    show_topology = (
        '"show topology") echo "SwitchName=rack1 Level=0 LinkSpeed=1 Nodes=n[1-2]"\n'
        '  echo "SwitchName=rack2 Level=0 LinkSpeed=1 Nodes=n[3-4]"\n'
        '  echo "SwitchName=top Level=1 LinkSpeed=1 Nodes=n[1-4] Switches=rack[1-2]" ;;\n'
        if topology
        else '"show topology") echo "No topology information available" ;;\n'
    )
    lock = tmp_path / "envsnap.lock"
    lockfile.dump(sample_lock(), lock)
    log = tmp_path / "srun.log"
    env = _fake_slurm(
        tmp_path,
        scontrol='case "$1 $2 $3" in "show hostnames n[1-4]") echo n1 n2 n3 n4 ;;\n'
        '"show hostnames n[1-2]") echo n1 n2 ;;\n"show hostnames n[3-4]") echo n3 n4 ;;\n'
        'esac\ncase "$1 $2" in\n"show node")\n' + show_node + "  ;;\n" + show_topology + "esac\n",
        sinfo="".join(f"echo '{n}|idle|debug*|(null)|up|none'\n" for n, _, _ in nodes),
        srun=f'echo "$*" >> {log}\necho "srun: error: Task launch failed: Communication connection failure" >&2\n'
        "exit 1\n",
        scancel="exit 0\n",
    )
    monkeypatch.setenv("PATH", env["PATH"])
    report = tmp_path / "report.json"
    try:
        res = cli("fleet", "check", str(lock), "-w", "n[1-4]", "-o", str(report), "--timeout", "30")
    finally:
        listening.close()
        closed.close()
    assert res.code == 3, res
    tried = sorted(line.split("--nodelist=")[1].split()[0] for line in log.read_text().splitlines())
    assert tried == ["n1", "n3", "n4"], tried
    reasons = {n["node"]: n["reason"] for n in json.loads(report.read_text())["nodes"]}
    assert reasons["n2"].startswith("not responding: its slurmd does not answer at 127.0.0.1"), reasons
    for node in ("n3", "n4"):
        assert "not responding" not in reasons[node], reasons
        assert reasons[node] == "srun: error: Task launch failed: Communication connection failure", reasons


@pytest.mark.parametrize("context", ["prolog_slurmd", "prolog_task"])
def test_a_lock_the_prolog_cannot_read_drains_only_from_the_root_prolog(
    tmp_path: Path, cli: Callable[..., Any], monkeypatch: pytest.MonkeyPatch, context: str
) -> None:
    """The root Prolog's lock missing on the node: exit 2 and nothing drained, so Slurm drained it as "Prolog
    error". There it is drained with the lock's error; a TaskProlog's lock is the job's own: nothing is drained."""
    import os

    log = tmp_path / "scontrol.log"
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "scontrol").write_text(f'#!/bin/sh\necho "$@" >> {log}\n')
    (bin_dir / "scontrol").chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}:{os.environ['PATH']}")
    monkeypatch.setenv("SLURMD_NODENAME", "node3")
    monkeypatch.setenv("SLURM_JOB_ID", "42")
    monkeypatch.setenv("SLURM_SCRIPT_CONTEXT", context)
    res = cli("fleet", "prolog", str(tmp_path / "gone" / "site.lock"))
    assert res.code == 2, res
    assert res.err.count("\n") == 1 and "no such lockfile" in res.err, res
    if context == "prolog_slurmd":
        assert res.err.startswith("envsnap: cannot read lock: ") and "node drained" in res.err, res
        assert "State=DRAIN Reason=envsnap: cannot read lock: " in log.read_text(), log.read_text()
    else:
        assert not log.exists(), log.read_text()


@pytest.mark.parametrize("context", ["prolog_slurmd", "prolog_task"])
def test_an_environment_the_root_prolog_cannot_check_drains_the_node_with_why(
    tmp_path: Path, cli: Callable[..., Any], monkeypatch: pytest.MonkeyPatch, context: str
) -> None:
    """The root Prolog's VIRTUAL_ENV not there on the node (its shared file system not mounted): exit 2 and
    nothing drained, so Slurm drained it as "Prolog error", envsnap's line only in the Prolog's log. It is drained
    first with envsnap's error, as for a lock it cannot read; a TaskProlog's environment is the job's: nothing is
    drained."""
    import os

    log = tmp_path / "scontrol.log"
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "scontrol").write_text(f'#!/bin/sh\necho "$@" >> {log}\n')
    (bin_dir / "scontrol").chmod(0o755)
    lock = tmp_path / "site.lock"
    lockfile.dump(sample_lock(), lock)
    monkeypatch.setenv("PATH", f"{bin_dir}:{os.environ['PATH']}")
    monkeypatch.setenv("SLURMD_NODENAME", "node3")
    monkeypatch.setenv("SLURM_JOB_ID", "42")
    monkeypatch.setenv("SLURM_SCRIPT_CONTEXT", context)
    monkeypatch.delenv("CONDA_PREFIX", raising=False)
    monkeypatch.setenv("VIRTUAL_ENV", str(tmp_path / "shared" / "venvs" / "train"))
    res = cli("fleet", "prolog", str(lock))
    assert res.code == 2, res
    assert res.err.count("\n") == 1 and "not a virtual environment" in res.err, res
    if context == "prolog_slurmd":
        assert res.err.startswith("envsnap: cannot check the node: VIRTUAL_ENV=") and "node drained" in res.err, res
        assert "State=DRAIN Reason=envsnap: cannot check the node: VIRTUAL_ENV=" in log.read_text()
    else:
        assert res.err.startswith("print envsnap: error: VIRTUAL_ENV="), res
        assert not log.exists(), log.read_text()


def test_from_a_task_prolog_a_failure_is_a_print_line_that_slurm_writes_to_the_jobs_output(
    tmp_path: Path, cli: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Slurm reads a TaskProlog's standard output and error for ``export`` and ``print`` lines and drops every
    other line: a job whose lock was missing failed with "TaskProlog failed status=1" alone, envsnap's line lost.
    From a TaskProlog the failure line is a ``print`` line, which Slurm writes to the job's output."""
    monkeypatch.setenv("SLURMD_NODENAME", "node3")
    monkeypatch.setenv("SLURM_SCRIPT_CONTEXT", "prolog_task")
    monkeypatch.delenv("SLURM_TASK_PID", raising=False)
    monkeypatch.setenv("ENVSNAP_LOCK", str(tmp_path / "typo.lock"))
    res = cli("fleet", "prolog")
    assert res.code == 2, res
    assert res.err.count("\n") == 1 and res.err.startswith("print envsnap: error: "), res
    assert "typo.lock: no such lockfile" in res.err, res
    monkeypatch.delenv("SLURM_SCRIPT_CONTEXT")
    res = cli("fleet", "prolog")
    assert res.code == 2 and res.err.startswith("envsnap: error: "), res


def test_without_a_topology_the_racks_addresses_are_resolved_side_by_side_each_host_once_within_a_timeout(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Where Slurm has no topology, a node's rack is the /24 of its address: each node's host name was resolved
    one after the other, so a slow DNS cost seconds per node of a large cluster, and a resolver that never
    answered held the check for good. Each distinct host name is resolved once, several at a time, and one not
    resolved within the timeout has no rack (judged by any node's answer)."""
    import socket
    import threading

    from envsnap.fleet import slurm

    env = _fake_slurm(tmp_path, scontrol='echo "No topology information available"\n')
    release = threading.Event()
    lock = threading.Lock()
    calls: list[str] = []
    running = [0, 0]  # now, most at once

    def resolver(host: str, *_args: Any) -> list[tuple[Any, ...]]:
        with lock:
            calls.append(host)
            running[0] += 1
            running[1] = max(running)
        try:
            if host == "hung":
                release.wait(30)
            else:
                release.wait(0.05)
            ip = {"a": "10.0.1.5", "b": "10.0.1.6", "c": "10.0.2.7", "hung": "10.0.9.9"}[host]
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (ip, 0))]
        finally:
            with lock:
                running[0] -= 1

    monkeypatch.setattr(socket, "getaddrinfo", resolver)
    monkeypatch.setattr(slurm, "RESOLVE_TIMEOUT", 1.0)
    # Twelve nodes behind four host names (two per address where a node's NodeAddr is its host's), one never answers.
    addresses = {f"n{i}": (("a", "b", "c", "hung")[i % 4], 6818) for i in range(12)}
    try:
        rack_of = slurm._Racks(addresses, env)
        racks = {name: rack_of(name) for name in addresses}
    finally:
        release.set()
    assert racks["n0"] == racks["n1"] == "subnet 10.0.1" and racks["n2"] == "subnet 10.0.2", racks
    assert racks["n3"] == racks["n7"] == "", racks  # not resolved in time: no rack
    assert sorted(calls) == ["a", "b", "c", "hung"], calls
    assert running[1] > 1, running


def _slurm_prefix_with_logging_scontrol(root: Path) -> tuple[Path, Path]:
    """A Slurm installed under ``root`` (``sbin/slurmd``, ``bin/scontrol``) as at a site's /opt/slurm: its slurmd
    a copy of the system's sh, its scontrol a script that logs its arguments; the log and the slurmd."""
    import shutil

    (root / "sbin").mkdir(parents=True)
    (root / "bin").mkdir()
    slurmd = root / "sbin" / "slurmd"
    shutil.copy(Path("/bin/sh").resolve(), slurmd)
    log = root / "scontrol.log"
    (root / "bin" / "scontrol").write_text(f'#!/bin/sh\necho "$@" >> {log}\n')
    (root / "bin" / "scontrol").chmod(0o755)
    return log, slurmd


def test_the_root_prolog_drains_with_the_scontrol_of_the_slurmd_that_runs_it_off_its_bare_path(
    tmp_path: Path,
) -> None:
    """Slurm runs the Prolog with a minimal environment, whose PATH (if any) does not hold a site's
    /opt/slurm/bin: scontrol was not found there and the node was not drained with envsnap's reason. The scontrol
    beside the slurmd that started the Prolog (Slurm's own bin folder) drains it."""
    import os

    log, slurmd = _slurm_prefix_with_logging_scontrol(tmp_path / "opt" / "slurm")
    bare = tmp_path / "empty"
    bare.mkdir()
    env = {
        "PATH": str(bare),
        "PYTHONPATH": str(Path(__file__).resolve().parents[2]),
        "SLURMD_NODENAME": "node3",
        "SLURM_JOB_ID": "42",
        "SLURM_SCRIPT_CONTEXT": "prolog_slurmd",
        "HOME": os.environ.get("HOME", "/"),
    }
    lock = tmp_path / "gone" / "site.lock"
    # The slurmd (a shell here) stays the prolog's parent: `; exit $?` keeps it from exec-ing envsnap.
    res = subprocess.run(
        [str(slurmd), "-c", f'"{sys.executable}" -m envsnap fleet prolog "{lock}"; exit $?'],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert res.returncode == 2, res
    assert "node drained" in res.stderr and res.stderr.count("\n") == 1, res.stderr
    assert log.read_text().startswith("update NodeName=node3 State=DRAIN Reason=envsnap: cannot read lock: ")


def test_a_prolog_that_finds_no_scontrol_says_so_and_where_it_looked(
    tmp_path: Path, cli: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without scontrol on its PATH, beside slurmd or in Slurm's usual folders, the line said srun's runner's own
    error (a file name and errno), not that scontrol was missing."""
    from envsnap.fleet import slurm

    bare = tmp_path / "empty"
    bare.mkdir()
    monkeypatch.setattr(slurm, "SLURM_BIN_DIRS", (str(tmp_path / "opt" / "slurm" / "bin"),))
    monkeypatch.setenv("PATH", str(bare))
    monkeypatch.setenv("SLURMD_NODENAME", "node3")
    monkeypatch.setenv("SLURM_JOB_ID", "42")
    monkeypatch.setenv("SLURM_SCRIPT_CONTEXT", "prolog_slurmd")
    res = cli("fleet", "prolog", str(tmp_path / "gone" / "site.lock"))
    assert res.code == 2, res
    assert res.err.count("\n") == 1, res.err
    assert (
        f"could not drain the node: scontrol not found (on PATH={bare}, beside slurmd or in {tmp_path}/opt/slurm/bin)"
        in res.err
    ), res.err


@pytest.mark.parametrize("where", ["common", "nodes.n2"])
def test_a_hand_edited_fleet_entry_without_its_name_is_named_by_its_table_and_line(
    tmp_path: Path, cli: Callable[..., Any], where: str
) -> None:
    """A package added by hand to a FLEET.toml without its ``name`` read "node n1: python.packages[1].name:
    required field is missing": the index of a list the file does not hold. The error names the table as it is
    written, and its line; an entry whose name is not its table's is refused too (rewritten, it moved)."""
    base = sample_lock()
    packages = (PythonPackage(name="aaa", version="1"), PythonPackage("zzz", "2"))
    snap = dataclasses.replace(base, python=dataclasses.replace(base.python, packages=packages))
    good = tmp_path / "good.toml"
    fleetfile.dump(fleetfile.FleetFile({"n1": snap, "n2": snap}), good)
    text = good.read_text()
    added = f'\n[{where}.python.packages.numpy]\nversion = "1.0"\n'
    bad = tmp_path / "bad.toml"
    bad.write_text(text + added)
    line = len((text + added).splitlines()) - 1
    res = cli("fleet", "diff", str(good), str(bad))
    assert res.code == 2, res
    assert res.err == (
        f"envsnap: error: {bad}: line {line}: [{where}.python.packages.numpy]: no name "
        '(each entry of python.packages names itself: name = "numpy")\n'
    ), res.err
    bad.write_text(text + added.replace('version = "1.0"', 'name = "torch"\nversion = "1.0"'))
    res = cli("fleet", "diff", str(good), str(bad))
    assert res.code == 2, res
    assert res.err == (
        f"envsnap: error: {bad}: line {line}: [{where}.python.packages.numpy]: its name is 'torch', not its "
        "table's 'numpy'\n"
    ), res.err


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        (
            '[common.python.packages.numpy]\nname = "numpy"\nversion = 1\n',
            ".version: expected a string, got an integer",
        ),
        ("[common.python.packages]\nnumpy = 1\n", ": expected a table, got an integer"),
    ],
)
def test_a_bad_value_in_a_fleet_files_named_entry_is_named_by_its_table_and_line(
    tmp_path: Path, cli: Callable[..., Any], entry: str, message: str
) -> None:
    """A wrong value in one named entry read "node n1: python.packages[0].version: ...", an index of a list the
    file does not hold: the error names the entry's table, and the line it is written on."""
    good = tmp_path / "good.toml"
    fleetfile.dump(fleetfile.FleetFile({"n1": sample_lock(), "n2": sample_lock()}), good)
    text = good.read_text()
    assert "[common.python.packages]\n" in text
    bad = tmp_path / "bad.toml"
    edited = text.replace("[common.python.packages]\n", entry)
    bad.write_text(edited)
    line = edited.splitlines().index(entry.splitlines()[0]) + 1
    res = cli("fleet", "diff", str(good), str(bad))
    assert res.code == 2, res
    header = "[common.python.packages.numpy]"
    assert res.err.startswith(f"envsnap: error: {bad}: line {line}: {header}{message}"), res.err
    assert res.err.count("\n") == 1, res.err


@pytest.mark.parametrize(
    ("old", "new", "marker", "message"),
    [
        ('system = "Linux"', "system = 5", "system = 5", "[common.platform].system: expected a string, got an integer"),
        (
            "[common.platform]\n",
            "[common.platform]\nbogus = 1\n",
            "bogus = 1",
            "[common.platform].bogus: unknown field",
        ),
        (
            "",
            "[nodes.n2.platform]\nsystem = 5\n",
            "",  # a node's own value is named as the node's (as before)
            "node n2: platform.system: expected a string, got an integer",
        ),
        ("", '[common.platformx]\nsystem = "Linux"\n', "[common.platformx]", "[common.platformx]: unknown field"),
    ],
)
def test_a_bad_value_in_a_fleet_files_plain_table_is_named_by_its_table_and_line(
    tmp_path: Path, cli: Callable[..., Any], old: str, new: str, marker: str, message: str
) -> None:
    """A wrong value outside the named entries read "node n1: platform.system: expected a string, ...": the
    first node blamed for a value of [common], every node's, and no line of a file of thousands. The error names
    the table the value is written in, and its line ("" as ``old``: ``new`` added at the end; "" as ``marker``: no
    line)."""
    good = tmp_path / "good.toml"
    fleetfile.dump(fleetfile.FleetFile({"n1": sample_lock(), "n2": sample_lock()}), good)
    text = good.read_text()
    assert old in text
    edited = text.replace(old, new, 1) if old else f"{text}\n{new}"
    bad = tmp_path / "bad.toml"
    bad.write_text(edited)
    where = f"line {edited.splitlines().index(marker) + 1}: " if marker else ""
    res = cli("fleet", "diff", str(good), str(bad))
    assert res.code == 2, res
    assert res.err == f"envsnap: error: {bad}: {where}{message}\n", res.err


def test_a_node_whose_address_does_not_resolve_in_time_is_tried_not_waited_for_or_called_not_responding(
    tmp_path: Path, cli: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each node's slurmd is asked for a connection at its host name, which ``create_connection`` resolved
    without a bound: a resolver that hung held the whole check (past --timeout), and a late answer called the
    node not responding. A host name not resolved within the resolving timeout is not asked: Slurm's state
    stands and the node is tried."""
    import socket
    import threading

    from envsnap.fleet import slurm

    listening = socket.socket()
    listening.bind(("127.0.0.1", 0))
    listening.listen()
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    alive, dead = listening.getsockname()[1], closed.getsockname()[1]
    real = socket.getaddrinfo
    release = threading.Event()

    def resolver(host: Any, *args: Any, **kwargs: Any) -> Any:
        if host == "slowdns":
            release.wait(30)
            host = "127.0.0.1"
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", resolver)
    monkeypatch.setattr(slurm, "RESOLVE_TIMEOUT", 0.5)
    lock = tmp_path / "envsnap.lock"
    lockfile.dump(sample_lock(), lock)
    log = tmp_path / "srun.log"
    env = _fake_slurm(
        tmp_path,
        scontrol='case "$1 $2" in "show hostnames") echo n1 n2 ;;\n'
        f'"show node") echo "NodeName=n1 NodeAddr=127.0.0.1 Port={alive} State=IDLE Version=22.05"\n'
        f'  echo "NodeName=n2 NodeAddr=slowdns Port={dead} State=IDLE Version=22.05" ;;\n'
        "*) exit 1 ;; esac\n",
        sinfo="echo 'n1|idle|debug*|(null)|up|none'; echo 'n2|idle|debug*|(null)|up|none'\n",
        srun=f'echo "$*" >> {log}\necho "srun: error: Task launch failed" >&2\nexit 1\n',
        scancel="exit 0\n",
    )
    monkeypatch.setenv("PATH", env["PATH"])
    report = tmp_path / "report.json"
    try:
        res = cli("fleet", "check", str(lock), "-w", "n[1-2]", "-o", str(report), "--timeout", "30")
    finally:
        release.set()
        listening.close()
        closed.close()
    assert res.code == 3, res
    tried = sorted(line.split("--nodelist=")[1].split()[0] for line in log.read_text().splitlines())
    assert tried == ["n1", "n2"], tried
    reasons = {n["node"]: n["reason"] for n in json.loads(report.read_text())["nodes"]}
    assert reasons["n2"] == "srun: error: Task launch failed", reasons


def test_a_dual_stack_node_is_asked_at_each_of_its_addresses_as_a_connection_tries_them(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A host name resolved once before the connection must still be tried at each of its addresses in turn, as
    ``create_connection`` tries them: ``localhost`` is ``::1`` first on most machines, where a slurmd listening on
    IPv4 alone refuses, and the node was called not responding."""
    import socket

    from envsnap.fleet import slurm

    listening = socket.socket()
    listening.bind(("127.0.0.1", 0))
    listening.listen()
    port = listening.getsockname()[1]

    real = socket.getaddrinfo

    def resolver(host: Any, *args: Any, **kwargs: Any) -> Any:
        if host != "dualstack":
            return real(host, *args, **kwargs)  # the connection's own lookup of an address
        return [
            (socket.AF_INET6, socket.SOCK_STREAM, 6, "", ("::1", 0, 0, 0)),
            (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", 0)),
        ]

    monkeypatch.setattr(socket, "getaddrinfo", resolver)
    try:
        assert slurm._probe({"n1": ("dualstack", port)}) == {"n1": ""}
    finally:
        listening.close()


def test_a_nodes_host_name_is_resolved_once_in_a_check_by_the_probes_and_the_racks_alike(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The selected nodes' host names were resolved ahead of their connections, then again for their racks'
    subnets, and a witness's name for its rack and again for its connection: each lookup bounded, but a slow
    resolver cost its time twice. Each host name is resolved once, and every address it has is still tried."""
    import socket
    import threading

    from envsnap.fleet import slurm

    listening = socket.socket()
    listening.bind(("0.0.0.0", 0))  # 127.0.1.1, another rack, reaches it too
    listening.listen()
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    alive, dead = listening.getsockname()[1], closed.getsockname()[1]
    lock = threading.Lock()
    calls: list[str] = []
    real = socket.getaddrinfo

    def resolver(host: Any, *args: Any, **kwargs: Any) -> Any:
        if host in ("::1", "127.0.0.1", "127.0.1.1"):
            return real(host, *args, **kwargs)  # the connection's own lookup of an address
        with lock:
            calls.append(host)
        # "dead" is dual-stack, ::1 first; "far" is another rack; "mate" is dead's rack-mate, not selected.
        v4 = {"dead": "127.0.0.1", "far": "127.0.1.1", "mate": "127.0.0.1"}[host]
        six = [(socket.AF_INET6, socket.SOCK_STREAM, 6, "", ("::1", 0, 0, 0))] if host == "dead" else []
        return [*six, (socket.AF_INET, socket.SOCK_STREAM, 6, "", (v4, 0))]

    selected = (
        f'  echo "NodeName=n1 NodeAddr=dead Port={dead} State=IDLE"\n'
        f'  echo "NodeName=n2 NodeAddr=far Port={alive} State=IDLE"\n'
    )
    env = _fake_slurm(
        tmp_path,
        scontrol='case "$1 $2" in\n"show topology") echo "No topology information available" ;;\n'
        '"show node")\n'
        + selected
        + f'  if [ -z "$4" ]; then echo "NodeName=n3 NodeAddr=mate Port={alive} State=IDLE"; fi ;;\n'
        "esac\n",
    )
    monkeypatch.setattr(socket, "getaddrinfo", resolver)
    try:
        silent = slurm._silent([NodeState("n1", "idle"), NodeState("n2", "idle")], env)
    finally:
        listening.close()
        closed.close()
    # n1 refuses at both its addresses and its rack-mate n3 answers here: its slurmd is dead.
    assert silent == {"n1": f"its slurmd does not answer at dead:{dead} (connection refused)"}, silent
    assert sorted(calls) == ["dead", "far", "mate"], calls


def _unsealed(tmp_path: Path, name: str, *packages: PythonPackage) -> Path:
    """A lock without its content digest (written or edited by hand), which loads all the same."""
    path = tmp_path / name
    lockfile.dump(sample_lock(*packages), path)
    path.write_text("".join(x for x in path.read_text().splitlines(True) if not x.startswith("content_digest")))
    assert not lockfile.load(path).envsnap.content_digest
    return path


def test_a_node_that_checked_another_unsealed_lock_at_the_path_is_invalid(
    tmp_path: Path, cli: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A lock without a seal was named by its digest "": a node that read another unsealed lock at the same path
    (a file system not shared, a copy edited there) answered with "" too, and its answer was taken as one for this
    lock. An unsealed lock is named by its content's digest, in the node's answer and in the check alike."""
    lock = _unsealed(tmp_path, "train.lock", PythonPackage("numpy", "1.26.4"))
    other = _unsealed(tmp_path, "other.lock", PythonPackage("numpy", "2.0.0"))
    answer = tmp_path / "answer.json"
    node_res = cli("fleet", "node", str(other))
    said = json.loads(node_res.out)
    assert said["lock_digest"].startswith("sha256:"), said["lock_digest"]
    answer.write_text(json.dumps(_answer(lock_digest=said["lock_digest"])))
    env = _fake_slurm(
        tmp_path,
        scontrol="echo n1\n",
        sinfo="echo 'n1|idle|debug*|(null)|up|none'\n",
        srun=f"cat {answer}\n",
        scancel="exit 0\n",
    )
    monkeypatch.setenv("PATH", env["PATH"])
    report = tmp_path / "report.json"
    res = cli("fleet", "check", str(lock), "-w", "n1", "--timeout", "30", "-o", str(report))
    assert res.code == 3, res
    data = json.loads(report.read_text())
    assert data["lock_digest"] == lockfile.canonical_digest(lockfile.to_dict(lockfile.load(lock))), data
    (node,) = data["nodes"]
    assert (node["verdict"], node["reason"]) == (
        "invalid",
        "not a node answer: it checked another lock (its digest differs)",
    ), node


def test_a_prolog_names_an_unsealed_lock_by_its_contents_digest(
    tmp_path: Path, cli: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A lock without a seal the node cannot run drained it with "envsnap: cannot run lock ?: ...": which lock, the
    operator could not tell from ``sinfo -R``. It is named by its content's digest."""
    lock = _unsealed(tmp_path, "site.lock", PythonPackage("numpy", "1.26.4"))
    digest = lockfile.canonical_digest(lockfile.to_dict(lockfile.load(lock))).partition(":")[2][:12]
    monkeypatch.delenv("SLURMD_NODENAME", raising=False)
    res = cli("fleet", "prolog", str(lock))
    assert res.code == 3, res
    assert res.err.startswith("envsnap: ") and f": cannot run lock {digest}: " in res.err, res.err


def test_a_task_that_exits_otherwise_than_envsnap_does_is_invalid_with_its_exit_status() -> None:
    """A task that printed a compatible answer and then exited 1 was counted compatible (exit status ignored); one
    that exited 5 with a line on standard error and no answer read "unreachable" with that line alone."""
    after = from_run(_run(json.dumps(_answer()), returncode=1), lock_digest="sha256:ab", timeout=5)
    assert (after.verdict, after.reason) == ("invalid", "its task exited with status 1 after a compatible answer")
    stderr = "disk quota exceeded\nsrun: error: n1: task 0: Exited with exit code 5\n"
    before = from_run(_run("", returncode=5, stderr=stderr), lock_digest="sha256:ab", timeout=5)
    assert (before.verdict, before.reason) == (
        "invalid",
        "its task exited with status 5 without an answer: disk quota exceeded",
    )
    # An incompatible answer ends with 3, as `fleet node` ends: taken as it is.
    failing = _answer(verdict="incompatible")
    assert (
        from_run(_run(json.dumps(failing), returncode=3), lock_digest="sha256:ab", timeout=5).verdict == "incompatible"
    )
    assert from_run(_run(json.dumps(failing), returncode=1), lock_digest="sha256:ab", timeout=5).verdict == "invalid"
    # A compatible answer and then exit 3 (a wrapper's own check that failed) is not the node's answer either.
    late = from_run(_run(json.dumps(_answer()), returncode=3), lock_digest="sha256:ab", timeout=5)
    assert (late.verdict, late.reason) == ("invalid", "its task exited with status 3 after a compatible answer")
    # Killed by a signal (the OOM killer): srun says so in place of an exit code.
    killed = from_run(
        _run("", returncode=137, stderr="srun: error: n1: task 0: Killed\n"), lock_digest="sha256:ab", timeout=5
    )
    assert (killed.verdict, killed.reason) == ("invalid", "its task ended (Killed) without an answer")
    denied = from_run(
        _run("", returncode=2, stderr="slurmstepd: error: execve(): /opt/envsnap: Permission denied\n"),
        lock_digest="sha256:ab",
        timeout=5,
    )
    assert denied.reason == (
        "envsnap at /opt/envsnap cannot be started on the node: Permission denied "
        "(--envsnap PATH names the one the nodes have)"
    )


def test_a_fleet_file_keeps_its_invalid_nodes_apart_and_refuses_one_listed_twice(tmp_path: Path) -> None:
    """``[fleet.invalid]``: the nodes reached with no capture to take, read back as written; a node both there and
    in ``[fleet.unreachable]`` (or captured) is bad input naming it."""
    nodes = {"n1": _node("550.54.14", "1.0.0")}
    fleet = fleetfile.FleetFile(nodes, {"n2": "no answer within 120 s"}, invalid={"n3": "its task ended (Killed)"})
    fleetfile.dump(fleet, tmp_path / "f.toml")
    loaded = fleetfile.load(tmp_path / "f.toml")
    assert (dict(loaded.unreachable), dict(loaded.invalid)) == (
        {"n2": "no answer within 120 s"},
        {"n3": "its task ended (Killed)"},
    )
    assert loaded.without("n3") == "invalid: its task ended (Killed)" and loaded.without("n1") == ""
    text = (tmp_path / "f.toml").read_text()
    twice = text.replace('n3 = "its task ended (Killed)"', 'n2 = "its task ended (Killed)"')
    with pytest.raises(fleetfile.FleetFileError, match=r"fleet.invalid: 'n2' is in fleet.unreachable too"):
        fleetfile.loads(twice, origin="f.toml")


def test_a_node_that_hangs_after_slow_job_queries_did_not_wait_for_a_place(tmp_path: Path) -> None:
    """Run in a job, the job's GPUs are asked of scontrol before any srun starts: that time is no wait for a free
    place, and a node that then hangs reads a plain "no answer within 4 s"."""
    from envsnap.fleet.report import from_run
    from envsnap.fleet.slurm import run_on_nodes

    env = _fake_slurm(tmp_path, scontrol="sleep 1.5; echo n1\n", squeue="exit 0\n", srun="exec sleep 30\n")
    env.update(SLURM_JOB_ID="13", SLURM_JOB_NODELIST="n1")
    runs = run_on_nodes([NodeState("n1", "idle")], ["envsnap"], env=env, timeout=4, gpus=1)
    assert from_run(runs["n1"], lock_digest="", timeout=4).reason.startswith("no answer within 4 s (")


def test_a_timeout_under_a_second_still_asks_every_node(tmp_path: Path) -> None:
    """A node is left unasked only when it waited for a free place: under ``--timeout 0.5`` every node is asked."""
    from envsnap.fleet.slurm import run_on_nodes

    log = tmp_path / "srun.log"
    env = _fake_slurm(tmp_path, srun=f'echo "$*" >> {log}\n', scancel="exit 0\n")
    runs = run_on_nodes([NodeState("n1", "idle"), NodeState("n2", "idle")], ["envsnap"], env=env, timeout=0.5)
    assert sorted(runs) == ["n1", "n2"] and all(r.asked for r in runs.values())
    assert sorted(line.split("--nodelist=")[1].split()[0] for line in log.read_text().splitlines()) == ["n1", "n2"]


def test_a_node_whose_srun_waited_for_a_free_slot_is_not_called_silent(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """At most MAX_PARALLEL sruns run at once, all against one deadline: on a cluster of more nodes than that,
    a node queued behind hung ones had its srun started with seconds left, or never, and read "no answer within
    120 s" as a hung node does. It says that it waited, and one never asked says so."""
    from envsnap.fleet import Selection, check_fleet, slurm

    monkeypatch.setattr(slurm, "MAX_PARALLEL", 1)
    lock = tmp_path / "envsnap.lock"
    lockfile.dump(sample_lock(), lock)
    env = _fake_slurm(
        tmp_path,
        scontrol="echo n1; echo n2; echo n3\n",
        sinfo="echo 'n1|idle|debug*|gpu:1|up|none'; echo 'n2|idle|debug*|gpu:1|up|none'; "
        "echo 'n3|idle|debug*|gpu:1|up|none'\n",
        # n1 holds the one slot for 2 s, then n2 hangs until the deadline: n3's turn never comes.
        srun='case "$*" in *--nodelist=n1*) sleep 2; echo "srun: error: n1: task 0: Exited with exit code 1" >&2;'
        " exit 1 ;; *) exec sleep 30 ;; esac\n",
        scancel="exit 0\n",
    )
    selection = Selection(nodelist="n[1-3]")
    report = check_fleet(str(lock), selection, envsnap=["envsnap"], timeout=4, env=env, gpus="all")
    reasons = {r.node: (r.verdict, r.reason) for r in report.results}
    assert reasons["n2"] == (
        "unreachable",
        "no answer within --timeout 4, of which its srun had only the rest after waiting for a free place (at most "
        "1 srun run at once)",
    ), reasons
    assert 1 < {r.node: r.seconds for r in report.results}["n2"] < 3  # what it had, in the JSON's seconds
    assert reasons["n3"] == (
        "unreachable",
        "not asked: --timeout 4 ran out while it waited for a free place (at most 1 srun run at once, the others "
        "not answering); a longer --timeout asks it",
    ), reasons
    assert reasons["n1"][0] == "invalid"
    # n3 was asked of Slurm for nothing: the report names no GPUs of it.
    assert {r.node: r.gpus for r in report.results} == {"n1": 1, "n2": 1, "n3": 0}
    assert report.gpus_asked() == "GPUs asked of Slurm: 1 on n[1-2]", report.gpus_asked()


def test_fleet_capture_names_nodes_without_a_capture_for_one_cause_on_one_line(
    tmp_path: Path, cli: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A rack drained for maintenance read one line per node (``node7: unreachable: Slurm reports the node
    drained (PDU swap)``, twenty times), where fleet check gives such nodes one row: nodes with the same cause share
    a line, in hostlist notation."""
    import envsnap.fleet

    drained = "Slurm reports the node drained (PDU swap)"
    fleet = fleetfile.FleetFile(
        {"n1": _node("550.54.14", "1.0.0")},
        {"n2": drained, "n3": drained, "n5": drained, "n4": "no answer within 120 s"},
        invalid={"n6": "its task ended (Killed) without an answer"},
    )
    monkeypatch.setattr(envsnap.fleet, "capture_fleet", lambda *a, **k: fleet)
    res = cli("fleet", "capture", "-w", "n[1-6]", "-o", str(tmp_path / "FLEET.toml"))
    assert res.code == 3, res
    assert res.err.splitlines()[1:] == [
        f"n[2-3,5]: unreachable: {drained}",
        "n4: unreachable: no answer within 120 s",
        "n6: invalid: its task ended (Killed) without an answer",
    ], res


def test_a_task_prolog_that_failed_says_what_it_printed() -> None:
    """A site's TaskProlog that refused the task (``print /scratch not mounted``, ``exit 1``) read only "its task
    exited with status 1 without an answer: slurmstepd-n1: error: TaskProlog failed status=1": the cause it printed,
    which Slurm writes to the task's standard output, was nowhere. The last line printed is named too."""
    stderr = "slurmstepd-n1: error: TaskProlog failed status=1\nsrun: error: n1: task 0: Exited with exit code 1\n"
    result = from_run(
        _run("Welcome to n1\n/scratch not mounted\n", returncode=1, stderr=stderr), lock_digest="sha256:ab", timeout=5
    )
    assert (result.verdict, result.reason) == (
        "invalid",
        "its task exited with status 1 without an answer: slurmstepd-n1: error: TaskProlog failed status=1; it "
        "printed '/scratch not mounted'",
    )


@pytest.mark.parametrize("columns", [160, 100])
def test_the_matrix_on_a_terminal_keeps_each_node_list_and_verdict_whole(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, columns: int
) -> None:
    """On a terminal narrower than the matrix (nine GPU nodes: about 175 columns), rich folded every column alike:
    at 160 columns the node list read "node[1-2,5-7,9" over "]", at 100 "node[" "1-2,5" "-9]" and the verdict
    "incom" "patib" "le", a node list that could not be copied into -w. The other columns give way first."""
    from envsnap.cli.fleet import print_report

    facts = {**dict.fromkeys(FACTS, "-"), "gpus": "1x NVIDIA A100-SXM4-80GB (sm 8.0)", "python": "cpython 3.11.7"}
    facts |= {"driver": "550.54.14", "cuda_driver": "12.4", "torch": "2.4.0+cu121", "glibc": "glibc 2.36"}
    facts |= {"python_layer": "d48811e07d4a"}
    names = ("node1", "node2", "node5", "node6", "node7", "node9")
    report = FleetReport(
        "envsnap.lock",
        "d",
        (
            *(NodeResult(n, "compatible", facts) for n in names),
            NodeResult("node3", "incompatible", {**facts, "driver": "470.57.02", "cuda_driver": "11.4"}),
            NodeResult("node4", "incompatible", {**facts, "python_layer": "23d2f8937368"}),
            NodeResult("node8", "unreachable", reason="Slurm reports the node drained (PDU swap)"),
        ),
    )
    monkeypatch.setenv("TTY_COMPATIBLE", "1")
    monkeypatch.setenv("COLUMNS", str(columns))
    print_report(report)
    out = re.sub(r"\x1b\[[0-9;]*m", "", capsys.readouterr().out)
    assert max(len(line) for line in out.splitlines()) <= columns, out
    cells = [[cell.strip() for cell in line.split("│")[1:3]] for line in out.splitlines() if line.startswith("│")]
    rows = [cell for cell in cells if cell[0]]
    assert rows == [
        ["node8", "unreachable"],
        ["node3", "incompatible"],
        ["node4", "incompatible"],
        ["node[1-2,5-7,9]", "compatible"],
    ], out


def test_a_column_empty_on_every_node_is_left_out_and_said_so_once(
    tmp_path: Path, cli: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """On a CPU cluster the driver, CUDA, cuDNN, NCCL and GPU columns were ``-`` on every node and still took their
    room: on a 100-column terminal the facts that differ were folded to 4 characters (``cpyth``/``on``/``3.12.``).
    They are left out, and one line under the table names them and why; a column a node has a value in stays."""
    import envsnap.fleet

    lock = tmp_path / "envsnap.lock"
    lockfile.dump(sample_lock(), lock)
    facts = {
        **dict.fromkeys(FACTS, ""),
        "torch": "2.3.0+cpu",
        "glibc": "2.35",
        "python": "cpython 3.12.1",
        "python_layer": "8d2f89373680",
    }
    results = (
        NodeResult("node1", "compatible", facts),
        NodeResult("node2", "compatible", facts),
        NodeResult("node3", "incompatible", {**facts, "python_layer": "23d2f8937368"}),
        NodeResult("node9", "unreachable", reason="down"),
    )
    report = FleetReport(str(lock), "d", results)
    monkeypatch.setattr(envsnap.fleet, "check_fleet", lambda *a, **k: report)
    monkeypatch.setenv("COLUMNS", "100")
    monkeypatch.setenv("TTY_COMPATIBLE", "1")  # as on a terminal of 100 columns
    monkeypatch.setenv("NO_COLOR", "1")
    res = cli("fleet", "check", str(lock), "-w", "node[1-3,9]")
    assert res.code == 3, res
    for value in ("cpython 3.12.1", "8d2f89373680", "23d2f8937368", "2.3.0+cpu", "node[1-2]"):
        assert value in res.out, res.out
    header = next(line for line in res.out.splitlines() if "verdict" in line)
    for gone in ("driver", "CUDA", "cuDNN", "NCCL", "GPUs"):
        assert gone not in header, res.out
    said = [line for line in res.out.splitlines() if "left out" in line]
    assert said == ["left out: driver, CUDA drv, CUDA rt, cuDNN, NCCL, GPUs (empty on every node that answered)"], (
        res.out
    )
    with_gpu = FleetReport(
        str(lock), "d", (*results[:2], NodeResult("node4", "compatible", {**facts, "nccl": "2.20.5"}))
    )
    monkeypatch.setattr(envsnap.fleet, "check_fleet", lambda *a, **k: with_gpu)
    res = cli("fleet", "check", str(lock), "-w", "node[1-2,4]")
    header = next(line for line in res.out.splitlines() if "verdict" in line)
    assert "NCCL" in header and "left out: driver, CUDA drv, CUDA rt, cuDNN, GPUs (" in res.out, res.out
    assert "left out" not in cli("fleet", "check", str(lock), "-w", "node[1-2,4]", "--json").out


def test_fleet_checks_help_names_every_verdict_that_exits_3_as_the_docs_do(
    tmp_path: Path, cli: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """``fleet check --help`` said "3 a node incompatible or unreachable", while an invalid node (envsnap missing
    there, an answer that is not one) exits 3 too, as docs/cli.md says: the help names it, and the code agrees."""
    import envsnap.fleet

    res = cli("fleet", "check", "--help")
    assert res.code == 0, res
    said = " ".join(res.out.split())
    assert "3 a node incompatible, unreachable or invalid" in said, said
    docs = (Path(__file__).resolve().parents[2] / "docs" / "cli.md").read_text()
    section = docs[docs.index("### `envsnap fleet check`") : docs.index("### `envsnap fleet capture`")]
    assert "| 3 | a node is incompatible, unreachable or invalid (" in section
    lock = tmp_path / "envsnap.lock"
    lockfile.dump(sample_lock(), lock)
    for verdict in ("incompatible", "unreachable", "invalid"):
        report = FleetReport(str(lock), "d", (NodeResult("n1", verdict, reason="x"),))  # type: ignore[arg-type]
        monkeypatch.setattr(envsnap.fleet, "check_fleet", lambda *a, report=report, **k: report)
        assert cli("fleet", "check", str(lock), "-w", "n1").code == 3, verdict


def test_a_fleet_file_given_as_a_lock_is_named_with_the_command_that_reads_it(
    tmp_path: Path, cli: Callable[..., Any]
) -> None:
    """``fleet check fleet.toml`` (the capture file where the lock belongs) read "a TOML file without an [envsnap]
    table, not an envsnap lock" and pointed at envsnap.lock. It is named as what it is, with ``fleet diff``, which
    reads it; exit 2, one line, before any node is asked (no Slurm here)."""
    fleet = tmp_path / "fleet.toml"
    fleetfile.dump(fleetfile.FleetFile({"n1": _node("550.54.14", "1.0.0")}, {"n2": "down"}), fleet)
    for args in (("fleet", "check", str(fleet), "-w", "n1"), ("check", str(fleet)), ("diff", str(fleet), str(fleet))):
        res = cli(*args)
        assert res.code == 2, (args, res)
        assert res.err.strip().splitlines() == [
            f"envsnap: error: {fleet}: an envsnap fleet capture (FLEET.toml, as envsnap fleet capture writes it), not "
            "an envsnap lock; compare two of them with envsnap fleet diff OLD NEW, or give the lock the nodes should "
            "run"
        ], (args, res)


def test_the_prologs_wait_for_a_hung_interpreter_is_bounded_by_an_option(
    tmp_path: Path, cli: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """``fleet prolog`` waited up to 120 s for the environment's interpreter (a file system that does not answer),
    holding the job that long, with no option to shorten it; its docs named only the driver's 5 s. ``--python-timeout
    SECONDS`` bounds it: the one line names the wait, exit 2 (the environment, not the lock); a bad value is exit 2."""
    lock = tmp_path / "envsnap.lock"
    lockfile.dump(sample_lock(), lock)
    venv = tmp_path / "venv"
    (venv / "bin").mkdir(parents=True)
    (venv / "pyvenv.cfg").write_text("home = /usr/bin\n")
    interpreter = venv / "bin" / "python"
    interpreter.write_text("#!/bin/sh\nexec sleep 60\n")  # a Python that never answers
    interpreter.chmod(0o755)
    for name in ("SLURMD_NODENAME", "SLURM_SCRIPT_CONTEXT", "CONDA_PREFIX", "ENVSNAP_LOCK"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("VIRTUAL_ENV", str(venv))
    started = time.monotonic()
    res = cli("fleet", "prolog", str(lock), "--python-timeout", "1")
    assert time.monotonic() - started < 20
    assert res.code == 2, res
    assert res.err.strip().splitlines() == [
        f"envsnap: error: the environment's interpreter {interpreter}: the probe did not finish within 1 s"
    ], res
    for bad in ("0", "-1", "soon"):
        res = cli("fleet", "prolog", str(lock), "--python-timeout", bad)
        assert res.code == 2 and "--python-timeout" in res.err and "Traceback" not in res.err, (bad, res)


def test_the_prolog_of_a_cpu_partition_takes_cpu_only_and_drains_no_node_for_a_cuda_lock(
    tmp_path: Path, cli: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """pip's torch on Linux is a CUDA build: a CPU partition's prolog checking such a lock refused every job and
    drained every node ("needs CUDA 12.4 ..., found no NVIDIA driver"), and unlike check, fleet check and fleet node
    it had no --cpu-only. With it, GPU failures are accepted (as check --cpu-only accepts them), and the driver,
    which no GPU failure can come from now, is not asked (a hung one held every job)."""
    here = tmp_path / "here.lock"
    assert cli("capture", "-o", str(here)).code == 0
    snap = lockfile.load(here)
    gpu = tmp_path / "gpu.lock"
    torch = Framework(name="torch", version="2.5.1+cu124", cuda_version="12.4")
    lockfile.dump(dataclasses.replace(snap, frameworks={"torch": torch}), gpu)
    # A node whose driver hangs: refused for the CUDA lock (after 5 s), and not asked with --cpu-only.
    nvml = gpu_fakes.FakeNvml(hang=True, gpus=(gpu_fakes.FakeGpu("NVIDIA H100 80GB HBM3", (9, 0), 80 << 30),))
    env = gpu_fakes.nvml_environ(gpu_fakes.build_fake_nvml(tmp_path, nvml))
    env.pop("SLURMD_NODENAME", None)
    env.pop("ENVSNAP_LOCK", None)

    def prolog(*args: str) -> tuple[subprocess.CompletedProcess[str], float]:
        started = time.monotonic()
        command = [sys.executable, "-m", "envsnap", "fleet", "prolog", *args]
        proc = subprocess.run(command, env=env, cwd=tmp_path, capture_output=True, text=True, timeout=120)
        return proc, time.monotonic() - started

    proc, _ = prolog(str(gpu))
    assert proc.returncode == 3 and "CUDA" in proc.stderr, proc
    proc, elapsed = prolog("--cpu-only", str(gpu))
    assert (proc.returncode, proc.stderr) == (0, ""), proc
    assert proc.stdout.count("\n") == 1 and " can run " in proc.stdout, proc.stdout
    assert elapsed < 4, f"the --cpu-only prolog waited {elapsed:.1f} s for a driver no failure can come from"


@pytest.mark.parametrize("subcommand", ["prolog", "check", "capture", "diff", "node"])
def test_an_unknown_option_of_a_fleet_subcommand_points_to_the_help_that_lists_its_options(
    cli: Callable[..., Any], subcommand: str
) -> None:
    """`envsnap fleet prolog --cpu` ended "(see envsnap fleet --help)", a help that lists the subcommands and none of
    their options; it names the subcommand's own help, as a missing argument's line does."""
    files = {"diff": ["old.toml", "new.toml"], "capture": []}.get(subcommand, ["a.lock"])
    res = cli("fleet", subcommand, *files, "--no-such-option")
    assert res.code == 2, res
    assert res.err == (
        f"envsnap: error: unrecognized arguments: --no-such-option (see envsnap fleet {subcommand} --help)\n"
    ), res.err


# ---------------------------------------------------------------------------------------------- fleet check --drain

_CUDA_FAIL = {"severity": "fail", "component": "CUDA", "needed": "12.1", "found": "11.4", "remedy": "r", "rule": "cuda"}


def _drain_cluster(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    answers: dict[str, dict[str, Any] | str],
    *,
    states: dict[str, str] | None = None,
    now: dict[str, str] | None = None,
    update: str = "exit 0\n",
) -> tuple[Path, Path]:
    """Fake Slurm: the nodes of ``answers`` idle in the default partition (``states``: other sinfo states, as
    ``STATE|REASON``), each node's srun printing its answer (a node answer's fields, else the text); ``now``: the
    states sinfo reports when asked of the nodes to drain (after the check). scontrol's ``update`` argv, one word a
    line, goes to the log returned (with the lock); ``update``: its body after the logging."""
    lock = tmp_path / "envsnap.lock"
    lockfile.dump(sample_lock(), lock)
    digest = lockfile.load(lock).envsnap.content_digest
    answers_dir = tmp_path / "answers"
    answers_dir.mkdir()
    for node, answer in answers.items():
        text = answer if isinstance(answer, str) else json.dumps({**_answer(node=node, lock_digest=digest), **answer})
        (answers_dir / node).write_text(text)

    def lines(table: dict[str, str]) -> str:
        return "".join(f"echo '{n}|{table.get(n, 'idle|none').replace('|', '|debug*|(null)|up|', 1)}'\n" for n in table)

    before = {n: (states or {}).get(n, "idle|none") for n in answers}
    after = {**before, **(now or {})}
    log, asked, names = tmp_path / "scontrol.log", tmp_path / "asked", " ".join(answers)
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    env = _fake_slurm(
        bin_dir,
        scontrol=f'case "$1" in update) printf "%s\\n" "$@" >> {log}\n{update};; show) echo {names} ;; esac\n',
        # The check asks sinfo once, as it begins; the drain asks it again, after the check.
        sinfo=f"if [ -e {asked} ]; then\n{lines(after)}else\ntouch {asked}\n{lines(before)}fi\n",
        srun=f'for a in "$@"; do case "$a" in --nodelist=*) cat "{answers_dir}/${{a#--nodelist=}}" ;; esac; done\n',
        scancel="exit 0\n",
    )
    monkeypatch.setenv("PATH", env["PATH"])
    return lock, log


def _updates(log: Path) -> list[list[str]]:
    """Each ``scontrol update``'s argv, as the fake logged it."""
    if not log.exists():
        return []
    calls: list[list[str]] = []
    for word in log.read_text().splitlines():
        if word == "update":
            calls.append([])
        calls[-1].append(word)
    return calls


def test_fleet_check_drain_drains_the_incompatible_nodes_alone_with_the_prologs_reason(
    tmp_path: Path, cli: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """``fleet check`` only reported a node that cannot run the lock: an operator drained it by hand, with a reason of
    their own. ``--drain`` drains it with the reason ``fleet prolog`` gives, and touches no node that passed."""
    warn = {**_CUDA_FAIL, "severity": "warn"}
    lock, log = _drain_cluster(
        tmp_path,
        monkeypatch,
        {
            "n1": {},
            "n2": {"verdict": "incompatible", "check": {"findings": [_CUDA_FAIL]}},
            "n3": {"verdict": "warnings", "check": {"findings": [warn]}},
        },
    )
    digest = lockfile.load(lock).envsnap.content_digest.partition(":")[2][:12]
    # The head first (sinfo -R shows 20 characters), the whole reason after it.
    reason = f"envsnap: CUDA 12.1: cannot run lock {digest}: CUDA: needs 12.1, found 11.4"
    res = cli("fleet", "check", str(lock), "-w", "n[1-3]", "--drain")
    assert res.code == 3, res
    assert _updates(log) == [["update", "NodeName=n2", "State=DRAIN", f"Reason={reason}"]]
    assert "n2: incompatible" in res.out  # the report, on standard output
    assert res.err.strip().splitlines() == [f"n2: drained: {reason}"], res
    # Without --drain, nothing is drained.
    log.unlink()
    (tmp_path / "asked").unlink()
    assert cli("fleet", "check", str(lock), "-w", "n[1-3]").code == 3
    assert _updates(log) == []


def test_a_drain_reason_from_a_nodes_answer_is_one_line_without_control_characters_cut_for_slurm(
    tmp_path: Path, cli: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A node's answer is untrusted: its text goes to scontrol as one argv word (no shell), on one line, without
    control characters, cut to Slurm's length."""
    odd = {**_CUDA_FAIL, "found": "11.4\n\x1b[31mState=RESUME\r" + "x" * 400}
    lock, log = _drain_cluster(tmp_path, monkeypatch, {"n1": {"verdict": "incompatible", "check": {"findings": [odd]}}})
    res = cli("fleet", "check", str(lock), "-w", "n1", "--drain")
    assert res.code == 3, res
    [call] = _updates(log)
    assert call[:3] == ["update", "NodeName=n1", "State=DRAIN"] and len(call) == 4, call
    reason = call[3].removeprefix("Reason=")
    assert reason.isprintable() and len(reason) == 200 and reason.endswith("..."), reason
    assert "found 11.4 \ufffd[31mState=RESUME" in reason, reason


def test_a_node_drained_or_down_meanwhile_is_left_as_it_is_and_said_so(
    tmp_path: Path, cli: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A node a prolog or an operator drained while the check ran keeps their reason: it is not drained again."""
    failing = {"verdict": "incompatible", "check": {"findings": [_CUDA_FAIL]}}
    lock, log = _drain_cluster(
        tmp_path,
        monkeypatch,
        {"n1": failing, "n2": failing},
        now={"n1": "drained|bad fan", "n2": "down*|Not responding"},
    )
    res = cli("fleet", "check", str(lock), "-w", "n[1-2]", "--drain")
    assert res.code == 3, res
    assert _updates(log) == []
    assert res.err.strip().splitlines() == [
        "n1: left as it is: Slurm reports it drained (bad fan)",
        "n2: left as it is: Slurm reports it down* (Not responding)",
    ], res


def test_a_drain_scontrol_refuses_is_one_line_naming_the_node_after_the_report_and_exit_4(
    tmp_path: Path, cli: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    failing = {"verdict": "incompatible", "check": {"findings": [_CUDA_FAIL]}}
    lock, log = _drain_cluster(
        tmp_path,
        monkeypatch,
        {"n1": {}, "n2": failing, "n3": failing},
        update='echo "slurm_update error: Invalid user id" >&2; exit 1\n',
    )
    res = cli("fleet", "check", str(lock), "-w", "n[1-3]", "--drain")
    assert res.code == 4, res
    assert "n[2-3]" in res.out and "incompatible" in res.out  # the report is printed all the same
    assert res.err.strip().splitlines() == ["n[2-3]: could not drain: slurm_update error: Invalid user id"], res
    assert [c[1] for c in _updates(log)] == ["NodeName=n2", "NodeName=n3"]


def test_fleet_check_drain_json_lists_what_was_drained(
    tmp_path: Path, cli: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    lock, _ = _drain_cluster(
        tmp_path, monkeypatch, {"n1": {}, "n2": {"verdict": "incompatible", "check": {"findings": [_CUDA_FAIL]}}}
    )
    report = tmp_path / "report.json"
    res = cli("fleet", "check", str(lock), "-w", "n[1-2]", "--drain", "--json", "-o", str(report))
    assert res.code == 3, res
    drained = json.loads(res.out)["drain"]
    assert [(d["node"], d["action"], d["detail"]) for d in drained] == [("n2", "drained", "")]
    assert drained[0]["reason"].startswith("envsnap: CUDA 12.1: cannot run lock ")
    assert json.loads(report.read_text())["drain"] == drained
    # Without --drain the report has no such field.
    (tmp_path / "asked").unlink()
    assert "drain" not in json.loads(cli("fleet", "check", str(lock), "-w", "n[1-2]", "--json").out)


def test_nodes_without_an_answer_are_drained_only_when_asked_and_never_one_not_tried(
    tmp_path: Path, cli: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """An unreachable or invalid node may be the check's fault (a slow file system, --envsnap): drained only with
    --drain-unanswered, and a node not tried (drained, down: someone else's) never."""
    lock, log = _drain_cluster(
        tmp_path,
        monkeypatch,
        {"n1": {}, "n2": "Welcome\n", "n3": {}},
        states={"n3": "drained|PDU swap"},
    )
    res = cli("fleet", "check", str(lock), "-w", "n[1-3]", "--drain")
    assert res.code == 3, res
    assert _updates(log) == [] and res.err == "", res
    (tmp_path / "asked").unlink()
    res = cli("fleet", "check", str(lock), "-w", "n[1-3]", "--drain-unanswered")
    assert res.code == 3, res
    reason = "envsnap: cannot check the node: its task ended (exit status 0) without an answer; it printed 'Welcome'"
    assert _updates(log) == [["update", "NodeName=n2", "State=DRAIN", f"Reason={reason}"]]
    assert res.err.strip().splitlines() == [
        "n3: left as it is: not tried: Slurm reports the node drained (PDU swap)",
        f"n2: drained: {reason}",
    ], res


def test_a_node_name_scontrol_could_read_as_another_word_is_never_drained(tmp_path: Path) -> None:
    """A node's name goes into scontrol's ``NodeName=`` word: one that is no host name is left, and said so."""
    from envsnap.fleet import drain_failing
    from envsnap.fleet.report import Problem

    log = tmp_path / "scontrol.log"
    env = _fake_slurm(
        tmp_path, scontrol=f'echo "$*" >> {log}\n', sinfo="echo 'n1 State=RESUME|idle|debug*|(null)|up|'\n"
    )
    failing = NodeResult("n1 State=RESUME", "incompatible", failures=(Problem("CUDA", "12.1", "11.4"),))
    outcomes = drain_failing(FleetReport("l", "sha256:ab", (failing,)), env=env)
    assert [(o.action, o.detail) for o in outcomes] == [("left", "'n1 State=RESUME' is no node name scontrol is given")]
    assert not log.exists()


@pytest.mark.parametrize(
    ("component", "needed", "head"),
    [
        ("NVIDIA driver", "CUDA 12.1: driver >= 530.30.02", "driver<530"),
        ("torch", "2.3.0", "torch 2.3.0"),
        ("CUDA", "12.1", "CUDA 12.1"),
        ("fleet-demo", "1.0.0", "fleet-demo"),
        ("machine", "Linux riscv64", "machine"),
        ("a-very-long-package-name", "1.0", "a-very-long"),
    ],
)
def test_a_drain_reason_begins_with_what_sinfo_shows_of_it(component: str, needed: str, head: str) -> None:
    """`sinfo -R` shows 20 characters of a drain reason: every envsnap drain read "envsnap: cannot run", so
    drained nodes looked alike. The first problem, in a few characters, comes first; the whole reason follows."""
    from envsnap.fleet import SINFO_REASON_WIDTH, cannot_run_reason, reason_head

    reason = cannot_run_reason(
        "0123456789ab", [f"{component}: needs {needed}, found x"], reason_head(component, needed)
    )
    assert len(f"envsnap: {head}") <= SINFO_REASON_WIDTH
    assert reason.startswith(f"envsnap: {head}: cannot run lock 0123456789ab: {component}: needs {needed}")
