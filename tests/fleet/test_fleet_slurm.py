"""``envsnap fleet`` against the real local Slurm cluster of tests/fleet/conftest.py: node1 and node2 healthy,
node3 an older driver, node4 a drifted Python package."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from fleet_env import FleetEnv

pytestmark = pytest.mark.slurm


def test_fleet_check_groups_healthy_nodes_and_names_the_bad_ones(slurm_cluster_env: FleetEnv) -> None:
    fe = slurm_cluster_env
    report_path = fe.root / "report.json"
    res = fe.envsnap_cmd(
        "fleet",
        "check",
        str(fe.lock),
        "-w",
        "node[1-4]",
        "--envsnap",
        str(fe.envsnap),
        "--timeout",
        "120",
        "-o",
        str(report_path),
    )
    assert res.returncode == 3, res
    out = res.stdout
    print(out)
    # The two bad nodes first, each with its exact difference and remedy; the healthy two as one row.
    assert "node[1-2]" in out
    assert out.index("node3") < out.index("node[1-2]") and out.index("node4") < out.index("node[1-2]")
    assert "470.57.02" in out and "550.54.14" in out
    assert "fleet-demo" in out and "1.0.0" in out and "1.0.1" in out
    assert "remedy: install the locked fleet-demo==1.0.0" in out
    data = json.loads(report_path.read_text())
    assert data["verdict"] == "incompatible"
    groups = {g["nodes"]: g["verdict"] for g in data["groups"]}
    assert groups == {"node[1-2]": "compatible", "node3": "incompatible", "node4": "incompatible"}
    nodes = {n["node"]: n for n in data["nodes"]}
    assert nodes["node3"]["facts"]["driver"] == "470.57.02"
    assert nodes["node1"]["facts"]["driver"] == "550.54.14"
    assert any(f["found"].startswith("470.57.02") or "470.57.02" in f["found"] for f in nodes["node3"]["failures"])
    drift = [f for f in nodes["node4"]["failures"] if f["component"] == "Python package fleet-demo"]
    assert drift and drift[0]["needed"] == "1.0.0" and drift[0]["found"] == "1.0.1"
    assert set(data["differing"]) >= {"driver", "cuda_driver", "python_layer"}


def test_a_node_whose_python_layer_drifted_is_named_with_the_environment_it_was_checked_in(
    slurm_cluster_env: FleetEnv,
) -> None:
    """node4's jobs run another venv (its TaskProlog's VIRTUAL_ENV), where fleet-demo drifted: the report said
    "install the locked fleet-demo==1.0.0" and nothing of where, though the node's answer names the environment it
    checked. The node's lines and its JSON name it, as ``fleet node`` and ``check`` do."""
    fe = slurm_cluster_env
    report_path = fe.root / "env-report.json"
    res = fe.envsnap_cmd(
        "fleet", "check", str(fe.lock), "-w", "node[1,4]", "--envsnap", str(fe.envsnap), "--timeout", "120",
        "-o", str(report_path),
    )  # fmt: skip
    assert res.returncode == 3, res
    lines = res.stdout.splitlines()
    at = lines.index("node4: incompatible")
    assert lines[at + 1] == f"  environment: {fe.drifted_venv} (VIRTUAL_ENV)", res.stdout
    nodes = {n["node"]: n for n in json.loads(report_path.read_text())["nodes"]}
    assert nodes["node4"]["environment"] == f"{fe.drifted_venv} (VIRTUAL_ENV)"
    assert nodes["node1"]["environment"] == f"{fe.good_venv} (VIRTUAL_ENV)"


def test_fleet_check_of_healthy_nodes_exits_0(slurm_cluster_env: FleetEnv) -> None:
    fe = slurm_cluster_env
    res = fe.envsnap_cmd("fleet", "check", str(fe.lock), "-w", "node[1-2]", "--envsnap", str(fe.envsnap), "--json")
    assert res.returncode == 0, res
    data = json.loads(res.stdout)
    assert data["verdict"] == "compatible" and data["counts"]["compatible"] == 2
    assert [g["nodes"] for g in data["groups"]] == ["node[1-2]"]


def test_a_node_whose_gres_lists_gpus_without_a_driver_says_both(slurm_cluster_env: FleetEnv) -> None:
    """Slurm's configuration lists a GPU on node1 and node2 (Gres=gpu:1), but their tasks find no NVIDIA driver:
    the CUDA failure read "found no NVIDIA driver", as on a node without a GPU, with the remedy to run on a host with
    one. It says that Slurm lists the node's GPU while no driver was found, the fact an administrator acts on."""
    fe = slurm_cluster_env
    args = ["fleet", "check", str(fe.lock), "-w", "node[1-2]", "--envsnap", str(fe.envsnap), "--timeout", "60"]
    no_driver = {"ENVSNAP_TEST_NO_DRIVER": "1"}  # the TaskProlog leaves the tasks no NVML (fleet_env.py)
    res = fe.envsnap_cmd(*args, "--json", extra_env=no_driver)
    assert res.returncode == 3, res
    nodes = {n["node"]: n for n in json.loads(res.stdout)["nodes"]}
    found = "no NVIDIA driver, while Slurm lists 1 GPU on the node (its Gres)"
    for node in nodes.values():
        assert node["facts"]["driver"] == "", node
        [cuda] = [f for f in node["failures"] if f["component"] == "CUDA"]
        assert cuda["found"] == found, cuda
        assert cuda["remedy"].endswith("; where the node has no GPU, take gpu out of its Gres in Slurm's configuration")
    text = fe.envsnap_cmd(*args, extra_env=no_driver)
    assert text.returncode == 3, text
    assert f"found {found}" in text.stdout, text.stdout
    # With --cpu-only the finding is a warning, and says the same.
    cpu = fe.envsnap_cmd(*args, "--cpu-only", "--json", extra_env=no_driver)
    assert cpu.returncode == 0, cpu
    warned = [w for n in json.loads(cpu.stdout)["nodes"] for w in n["warnings"] if w["component"] == "CUDA"]
    assert [w["found"] for w in warned] == [found, found], warned


def test_a_node_whose_slurmd_is_stopped_is_not_responding_at_once_not_busy(slurm_cluster_env: FleetEnv) -> None:
    """Slurm reports a node whose slurmd died idle until it notices (SlurmdTimeout): the first check's srun failed
    there ("Communication connection failure") and left the node completing, and the next one read "Requested
    nodes are busy" for its whole timeout, as a node whose GPUs a job holds."""
    fe = slurm_cluster_env
    fe.cluster.stop_node("node2")
    answers = []
    try:
        for _ in range(2):
            started = time.monotonic()
            res = fe.envsnap_cmd(
                "fleet", "check", str(fe.lock), "-w", "node[1-2]", "--envsnap", str(fe.envsnap), "--timeout", "40",
                "--json",
            )  # fmt: skip
            answers.append((res, time.monotonic() - started))
    finally:
        fe.cluster.start_node("node2")
        fe.cluster.resume("node2")
        fe.cluster.wait_idle(["node2"], timeout=60)
    for res, elapsed in answers:
        assert res.returncode == 3, res
        nodes = {n["node"]: n for n in json.loads(res.stdout)["nodes"]}
        assert nodes["node1"]["verdict"] == "compatible"
        dead = nodes["node2"]
        assert dead["verdict"] == "unreachable", dead
        assert dead["reason"].startswith("not responding: its slurmd does not answer at localhost:"), dead
        assert "busy" not in dead["reason"], dead
        assert elapsed < 20, elapsed


def test_a_job_whose_lock_the_node_cannot_run_is_refused_there_and_runs_on_a_healthy_node(
    slurm_cluster_env: FleetEnv,
) -> None:
    fe = slurm_cluster_env
    cluster = fe.cluster
    out = fe.root / "job.out"
    script = fe.root / "job.sh"
    script.write_text(f'#!/bin/sh\necho "ran on $SLURMD_NODENAME" >> {out}\n')
    script.chmod(0o755)
    # node4 (the drifted Python layer) has the lowest weight: the scheduler tries it first.
    submitted = cluster.run(
        "sbatch",
        "--parsable",
        "-N1",
        "--requeue",
        "-o",
        str(fe.root / "job-%j.log"),
        str(script),
        env={**fe.env, "ENVSNAP_LOCK": str(fe.lock)},
    )
    job_id = submitted.stdout.strip().split(";")[0]
    try:
        fields = cluster.wait_job(job_id)
        shown = cluster.show_node("node4")
        listed = cluster.run("sinfo", "-R", "-h", "-n", "node4").stdout
    finally:
        cluster.resume("node4")
    log = (fe.root / "prolog.log").read_text()
    # sinfo -R shows 20 characters of the reason: what sets this node apart, not "envsnap: cannot run" for all.
    assert listed.startswith("envsnap: fleet-demo"), listed
    assert fields["JobState"] == "COMPLETED", (fields, log)
    assert fields["NodeList"] in ("node1", "node2"), fields
    assert int(fields["Restarts"]) >= 1
    assert out.read_text().splitlines() == [f"ran on {fields['NodeList']}"]
    # Refused on node4 and drained there with envsnap's reason, as scontrol shows it.
    assert "DRAIN" in shown, shown
    reason = next(line for line in shown.splitlines() if "Reason=" in line)
    assert "Reason=envsnap: fleet-demo 1.0.0: cannot run lock" not in reason  # the head fits the 20 characters
    assert "Reason=envsnap: fleet-demo: cannot run lock" in reason and "version 1.0.0 -> 1.0.1" in reason, reason
    assert "envsnap: fleet-demo: cannot run lock" in log and "node drained" in log and "requeueing the job" in log
    # The requeue it asked for ends the job's processes, the TaskProlog's too: expected, not a second line saying
    # envsnap was terminated (the job's output read "envsnap: terminated (SIGTERM)" under the reason).
    assert "terminated" not in log, log


def test_fleet_capture_writes_the_common_part_once_and_each_nodes_drift(slurm_cluster_env: FleetEnv) -> None:
    from envsnap._toml import tomllib
    from envsnap.fleet import fleetfile

    fe = slurm_cluster_env
    path = fe.root / "fleet.toml"
    res = fe.envsnap_cmd("fleet", "capture", "-w", "node[1-4]", "--envsnap", str(fe.envsnap), "-o", str(path))
    assert res.returncode == 0, res
    data = tomllib.loads(path.read_text())
    assert data["fleet"]["format_version"] == 1 and data["fleet"]["nodes"] == ["node1", "node2", "node3", "node4"]
    # Shared once; each node holds only what differs.
    assert data["common"]["python"]["packages"]["torch"]["version"] == "2.4.0+cu121"
    assert "version" not in data["common"]["python"]["packages"]["fleet-demo"]
    assert data["nodes"]["node4"]["python"]["packages"]["fleet-demo"]["version"] == "1.0.1"
    assert data["nodes"]["node1"]["python"]["packages"]["fleet-demo"]["version"] == "1.0.0"
    assert data["nodes"]["node3"]["nvidia"]["driver_version"] == "470.57.02"
    assert data["nodes"]["node4"]["nvidia"]["driver_version"] == "550.54.14"
    assert "driver_version" not in data["common"].get("nvidia", {})
    assert "torch" not in data["nodes"]["node4"]["python"]["packages"]  # the same on every node: common only
    loaded = fleetfile.load(path)
    assert loaded.nodes["node3"].nvidia is not None and loaded.nodes["node3"].nvidia.driver_version == "470.57.02"
    assert loaded.nodes["node4"].package("fleet-demo").version == "1.0.1"  # type: ignore[union-attr]

    # The same cluster a month later: node3's driver upgraded, node4 gone.
    later = fleetfile.FleetFile(
        {"node1": loaded.nodes["node1"], "node2": loaded.nodes["node2"], "node3": loaded.nodes["node1"]},
        {"node4": "no answer within 120 s"},
    )
    fleetfile.dump(later, fe.root / "later.toml")
    res = fe.envsnap_cmd("fleet", "diff", str(path), str(fe.root / "later.toml"))
    assert res.returncode == 1, res
    assert "node3: nvidia.driver_version: 470.57.02 -> 550.54.14" in res.stdout
    assert "node4: captured -> unreachable: no answer within 120 s" in res.stdout
    assert "node1" not in res.stdout
    same = fe.envsnap_cmd("fleet", "diff", str(path), str(path))
    assert same.returncode == 0, same


def test_a_site_prolog_drains_a_node_that_cannot_run_the_site_lock_with_envsnaps_reason(
    slurm_cluster_env: FleetEnv,
) -> None:
    """The root Prolog gets no job environment: it checks the cluster's own lock. A failing Prolog makes Slurm
    drain the node and requeue the job, held (Slurm 22.05: launch_failed_requeued_held); the reason shown is
    envsnap's (drained first), not "Prolog error". Released, the job runs on a healthy node."""
    from fleet_env import site_prolog

    fe = slurm_cluster_env
    cluster = fe.cluster
    out = fe.root / "site-job.out"
    script = fe.root / "site-job.sh"
    script.write_text(f'#!/bin/sh\necho "ran on $SLURMD_NODENAME" >> {out}\n')
    script.chmod(0o755)
    cluster.set_prolog(site_prolog(fe, fe.lock))
    try:
        submitted = cluster.run(
            "sbatch", "--parsable", "-N1", "--requeue", "-o", str(fe.root / "site-%j.log"), str(script)
        )
        job_id = submitted.stdout.strip().split(";")[0]
        deadline = time.monotonic() + 180
        while cluster.job(job_id).get("Reason") != "launch_failed_requeued_held" and time.monotonic() < deadline:
            time.sleep(0.5)
        shown = cluster.show_node("node4")
        cluster.run("scontrol", "release", job_id)
        fields = cluster.wait_job(job_id)
    finally:
        cluster.set_prolog("")
        cluster.resume("node4")
    log = (fe.root / "site-prolog.log").read_text()
    assert fields["JobState"] == "COMPLETED", (fields, log)
    assert fields["NodeList"] in ("node1", "node2"), fields
    assert out.read_text().splitlines() == [f"ran on {fields['NodeList']}"]
    reason = next(line for line in shown.splitlines() if "Reason=" in line)
    assert "Reason=envsnap: fleet-demo: cannot run lock" in reason, reason
    assert "Prolog error" not in reason
    assert "node drained" in log and "requeueing" not in log  # Slurm requeues after a failing Prolog


def test_a_site_prolog_whose_lock_was_edited_after_its_seal_drains_with_envsnaps_reason_not_prolog_error(
    slurm_cluster_env: FleetEnv,
) -> None:
    """A site lock edited after its seal (or missing, unreadable on the node) made ``fleet prolog`` exit 2 with
    nothing drained: Slurm drained the node itself with "Prolog error", where the docs promise envsnap's reason in
    ``sinfo -R``, and the admin had to find the line in a log. The root Prolog drains it with the lock's error."""
    from fleet_env import site_prolog

    fe = slurm_cluster_env
    cluster = fe.cluster
    edited = fe.root / "edited-site.lock"
    edited.write_text(fe.lock.read_text().replace('version = "1.0.0"', 'version = "1.0.9"', 1))
    script = fe.root / "edited-job.sh"
    script.write_text("#!/bin/sh\ntrue\n")
    script.chmod(0o755)
    cluster.set_prolog(site_prolog(fe, edited))
    try:
        submitted = cluster.run(
            "sbatch", "--parsable", "-N1", "-w", "node1", "--requeue", "-o", "/dev/null", str(script)
        )
        job_id = submitted.stdout.strip().split(";")[0]
        deadline = time.monotonic() + 180
        while cluster.job(job_id).get("Reason") != "launch_failed_requeued_held" and time.monotonic() < deadline:
            time.sleep(0.5)
        shown = cluster.show_node("node1")
        cluster.run("scancel", job_id, check=False)
    finally:
        cluster.set_prolog("")
        cluster.resume("node1")
    log = (fe.root / "site-prolog.log").read_text()
    reason = next(line for line in shown.splitlines() if "Reason=" in line)
    assert "Reason=envsnap: cannot read lock" in reason and "content_digest" in reason, (reason, log)
    assert "Prolog error" not in reason, reason
    assert "node drained" in log.splitlines()[-1], log


def test_a_task_prolog_failure_reaches_the_jobs_output_not_only_taskprolog_failed(slurm_cluster_env: FleetEnv) -> None:
    """The TaskProlog of docs/fleet.md (``envsnap fleet prolog >&2 || exit 1``): a job whose ENVSNAP_LOCK names no
    file failed with "slurmstepd: error: TaskProlog failed status=1" alone in its output. Slurm drops a
    TaskProlog's lines but its ``export``/``print`` ones: envsnap's line is a ``print``, in the job's output."""
    from fleet_env import gpu_fakes, node_environment

    fe = slurm_cluster_env
    cluster = fe.cluster
    harness = cluster.task_prolog
    script = fe.root / "typo-job.sh"
    script.write_text("#!/bin/sh\necho ran\n")
    script.chmod(0o755)
    out = fe.root / "typo-job.out"
    cluster.set_task_prolog(
        f"""#!/bin/sh
{node_environment(fe)}echo "export VIRTUAL_ENV=$venv"
LD_LIBRARY_PATH=$nvml FAKE_NVML_CONFIG=$nvml/{gpu_fakes.NVML_CONFIG} VIRTUAL_ENV=$venv \\
  {fe.envsnap} fleet prolog >&2 || exit 1
"""
    )
    try:
        submitted = cluster.run(
            "sbatch",
            "--parsable",
            "-N1",
            "-w",
            "node1",
            "-o",
            str(out),
            str(script),
            env={**fe.env, "ENVSNAP_LOCK": str(fe.root / "typo.lock")},
        )
        fields = cluster.wait_job(submitted.stdout.strip().split(";")[0])
    finally:
        cluster.set_task_prolog(harness)
    text = out.read_text()
    assert fields["JobState"] == "FAILED", fields
    assert "envsnap: error: " in text and "typo.lock: no such lockfile" in text, text
    assert "ran" not in text.split(), text
    assert "DRAIN" not in cluster.show_node("node1")


def test_a_partition_or_a_count_selects_the_nodes_and_a_drained_node_is_named_not_tried(
    slurm_cluster_env: FleetEnv,
) -> None:
    fe = slurm_cluster_env
    cluster = fe.cluster
    whole = fe.envsnap_cmd("fleet", "check", str(fe.lock), "-p", "debug", "--envsnap", str(fe.envsnap), "--json")
    assert whole.returncode == 3, whole
    assert [n["node"] for n in json.loads(whole.stdout)["nodes"]] == ["node1", "node2", "node3", "node4"]
    solo = fe.envsnap_cmd("fleet", "check", str(fe.lock), "-p", "solo", "--envsnap", str(fe.envsnap), "--json")
    assert solo.returncode == 0, solo
    assert [n["node"] for n in json.loads(solo.stdout)["nodes"]] == ["node2"]
    cluster.run("scontrol", "update", "NodeName=node1", "State=DRAIN", "Reason=maintenance window")
    try:
        named = fe.envsnap_cmd(
            "fleet", "check", str(fe.lock), "-w", "node[1-2]", "--envsnap", str(fe.envsnap), "--json"
        )
        counted = fe.envsnap_cmd("fleet", "check", str(fe.lock), "--nodes", "1", "--envsnap", str(fe.envsnap), "--json")
    finally:
        cluster.resume("node1")
    assert named.returncode == 3, named
    nodes = {n["node"]: n for n in json.loads(named.stdout)["nodes"]}
    assert nodes["node2"]["verdict"] == "compatible"
    assert nodes["node1"]["verdict"] == "unreachable" and nodes["node1"]["seconds"] == 0  # not tried
    assert "drained" in nodes["node1"]["reason"] and "maintenance window" in nodes["node1"]["reason"]
    # --nodes takes available nodes first: node2, not the drained node1.
    assert counted.returncode == 0, counted
    assert [n["node"] for n in json.loads(counted.stdout)["nodes"]] == ["node2"]


def test_a_node_that_hangs_is_unreachable_at_the_timeout_and_its_job_is_cancelled(
    slurm_cluster_env: FleetEnv,
) -> None:
    fe = slurm_cluster_env
    hanging = fe.root / "bin" / "envsnap-hangs-on-node2"
    hanging.write_text(f'#!/bin/sh\n[ "$SLURMD_NODENAME" = node2 ] && exec sleep 600\nexec {fe.envsnap} "$@"\n')
    hanging.chmod(0o755)
    started = time.monotonic()
    res = fe.envsnap_cmd(
        "fleet", "check", str(fe.lock), "-w", "node[1-2]", "--envsnap", str(hanging), "--timeout", "25", "--json"
    )
    elapsed = time.monotonic() - started
    assert res.returncode == 3, res
    nodes = {n["node"]: n for n in json.loads(res.stdout)["nodes"]}
    assert nodes["node1"]["verdict"] == "compatible"
    assert nodes["node2"]["verdict"] == "unreachable" and nodes["node2"]["reason"].startswith(
        "no answer within 25 s (its slurmd frozen, or its check hung there? scontrol show node NODE"
    )
    assert elapsed < 25 + 15, elapsed
    deadline = time.monotonic() + 30  # the hanging job is cancelled, not left holding the node
    while "envsnap-fleet" in fe.cluster.run("squeue", "-h", "-o", "%j").stdout and time.monotonic() < deadline:
        time.sleep(0.5)
    assert "envsnap-fleet" not in fe.cluster.run("squeue", "-h", "-o", "%j").stdout


def test_fleet_prolog_run_in_a_job_step_does_not_take_itself_for_the_task_prolog(
    slurm_cluster_env: FleetEnv,
) -> None:
    """Slurm 22.05 leaves SLURM_SCRIPT_CONTEXT=prolog_task in the environment of a task whose node has a
    TaskProlog: ``srun envsnap fleet prolog LOCK`` in a job step on the drifted node said "requeueing the job"
    and asked Slurm to requeue its own (interactive) job. The TaskProlog itself still requeues (the test above)."""
    fe = slurm_cluster_env
    cluster = fe.cluster
    try:
        done = cluster.run(
            "srun",
            "-w",
            "node4",
            "-N1",
            "-n1",
            "--",
            str(fe.envsnap),
            "fleet",
            "prolog",
            str(fe.lock),
            check=False,
            timeout=120,
            env=fe.env,
        )
    finally:
        cluster.resume("node4")
    said = done.stdout + done.stderr
    assert "envsnap: fleet-demo: cannot run lock" in said and "node drained" in said, said
    assert "requeue" not in said, said


def test_fleet_check_run_inside_a_job_checks_nodes_in_and_outside_it(slurm_cluster_env: FleetEnv) -> None:
    """From a job that holds every CPU of node1 (``srun --pty bash``, a batch script before its training step),
    node1 is asked in a step beside the job's own, node2 in a job of its own; both were unreachable (a step
    waiting for the CPUs, "Unable to create step ... Requested node configuration is not available")."""
    import sys

    fe = slurm_cluster_env
    check = [sys.executable, "-m", "envsnap", "fleet", "check", str(fe.lock), "-w", "node[1-2]", "--json"]
    res = fe.cluster.run(
        "srun",
        "-w",
        "node1",
        "-c",
        "2",
        *check,
        "--envsnap",
        str(fe.envsnap),
        "--timeout",
        "30",
        check=False,
        timeout=120,
        env=fe.env,
    )
    assert res.returncode == 0, res
    data = json.loads(res.stdout)
    assert {n["node"]: n["verdict"] for n in data["nodes"]} == {"node1": "compatible", "node2": "compatible"}
    # Nothing left queued or running: the outer job itself may still be completing (CG) for a moment on a loaded
    # machine as srun returns, so the queue is given a few seconds to empty; a job left behind stays in it.
    import time

    deadline = time.monotonic() + 20
    while (queued := fe.cluster.run("squeue", "--noheader").stdout.strip()) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert not queued


def test_inside_a_job_slow_slurm_lookups_do_not_eat_the_nodes_timeout(slurm_cluster_env: FleetEnv) -> None:
    """Run in a job, fleet check asks scontrol for the job's nodes and GPUs before it starts the sruns; the
    --timeout began before those lookups, so a slow controller (here 8 s for ``scontrol show job``) left nodes
    whose answer takes 3 s "no answer within 10 s". The nodes' time begins when their sruns start."""
    import shutil
    import sys

    fe = slurm_cluster_env
    shims = fe.root / "slow-scontrol"
    shims.mkdir(exist_ok=True)
    scontrol = shutil.which("scontrol", path=fe.env.get("PATH"))
    assert scontrol
    (shims / "scontrol").write_text(f'#!/bin/sh\ncase "$*" in *"show job"*) sleep 8 ;; esac\nexec {scontrol} "$@"\n')
    (shims / "scontrol").chmod(0o755)
    slow_node = fe.root / "bin" / "envsnap-answers-in-3-s"
    slow_node.write_text(f'#!/bin/sh\nsleep 3\nexec {fe.envsnap} "$@"\n')
    slow_node.chmod(0o755)
    check = [sys.executable, "-m", "envsnap", "fleet", "check", str(fe.lock), "-w", "node[1-2]", "--json"]
    started = time.monotonic()
    res = fe.cluster.run(
        "srun",
        "-w",
        "node1",
        "-c",
        "2",
        *check,
        "--envsnap",
        str(slow_node),
        "--timeout",
        "10",
        check=False,
        timeout=120,
        env={**fe.env, "PATH": f"{shims}:{fe.env.get('PATH', '')}"},
    )
    elapsed = time.monotonic() - started
    data = json.loads(res.stdout)
    assert {n["node"]: (n["verdict"], n["reason"]) for n in data["nodes"]} == {
        "node1": ("compatible", ""),
        "node2": ("compatible", ""),
    }, data
    assert res.returncode == 0, res
    assert elapsed >= 8 + 3, elapsed  # the lookup was slow, and the nodes took their 3 s after it


def test_a_gpu_lock_is_checked_with_the_nodes_gpus_and_a_node_whose_gpu_a_job_holds_says_so(
    slurm_cluster_env: FleetEnv,
) -> None:
    """The lock needs CUDA: each node's srun asks for the GPU Slurm lists on it (``--gres=gpu:1``; a cluster that
    constrains jobs to their devices shows a task that asked for none no GPU at all). A node whose GPU a job
    holds is unreachable with srun's reason before the timeout; ``--gpus none`` checks it beside that job."""
    fe = slurm_cluster_env
    cluster = fe.cluster
    args = ["fleet", "check", str(fe.lock), "-w", "node[1-2]", "--envsnap", str(fe.envsnap), "--json"]
    res = fe.envsnap_cmd(*args, "--timeout", "60")
    assert res.returncode == 0, res
    nodes = {n["node"]: n for n in json.loads(res.stdout)["nodes"]}
    assert {n: (v["verdict"], v["gpus_requested"]) for n, v in nodes.items()} == {
        "node1": ("compatible", 1),
        "node2": ("compatible", 1),
    }
    holds = ["sbatch", "--parsable", "-w", "node1", "--gres=gpu:1", f"--output={fe.root}/holds-gpu.out"]
    job = cluster.run(*holds, "--wrap", "sleep 300").stdout.strip()
    try:
        deadline = time.monotonic() + 60
        while cluster.job(job).get("JobState") != "RUNNING" and time.monotonic() < deadline:
            time.sleep(0.3)
        started = time.monotonic()
        res = fe.envsnap_cmd(*args, "--timeout", "15")
        elapsed = time.monotonic() - started
        assert res.returncode == 3, res
        nodes = {n["node"]: n for n in json.loads(res.stdout)["nodes"]}
        assert nodes["node2"]["verdict"] == "compatible"
        busy = nodes["node1"]
        assert busy["verdict"] == "unreachable" and "Requested nodes are busy" in busy["reason"], busy
        # It waited out the timeout for the GPU a long job holds: the line says how to check the node without it.
        assert busy["reason"].endswith(
            "(asked for 1 GPU: other jobs hold every GPU of the node, or its CPUs; --gpus none checks it without its "
            "GPU)"
        ), busy
        assert elapsed < 15 + 15, elapsed
        # Beside the job: its CPUs are free.
        res = fe.envsnap_cmd(*args, "--timeout", "60", "--gpus", "none")
        assert res.returncode == 0, res
        assert [n["gpus_requested"] for n in json.loads(res.stdout)["nodes"]] == [0, 0]
    finally:
        cluster.run("scancel", job, check=False)


def test_a_partition_slurm_does_not_know_is_bad_input_and_a_node_outside_the_partition_is_named_so(
    slurm_cluster_env: FleetEnv,
) -> None:
    """``-w node1 -p gpu`` on a cluster without a partition gpu reported node1 "Slurm knows no node of this name"
    and exited 3 (a node unreachable): a misspelt partition read as nodes gone. ``-w node1 -p solo`` (node1 is
    in debug only) said the same of a node Slurm knows."""
    fe = slurm_cluster_env
    base = ["fleet", "check", str(fe.lock), "--envsnap", str(fe.envsnap), "--json"]
    for selection in (["-w", "node1", "-p", "gpu"], ["-p", "gpu"], ["--nodes", "1", "-p", "gpu"]):
        res = fe.envsnap_cmd(*base, *selection)
        assert res.returncode == 2, (selection, res)
        assert res.stdout == "", res
        assert res.stderr.splitlines() == [
            "envsnap: error: -p 'gpu': Slurm knows no partition of this name (its partitions: debug, solo)"
        ], res
    res = fe.envsnap_cmd("fleet", "capture", "-o", str(fe.root / "none.toml"), "-w", "node1", "-p", "gpu")
    assert res.returncode == 2 and "Slurm knows no partition of this name" in res.stderr, res
    assert not (fe.root / "none.toml").exists()
    res = fe.envsnap_cmd(*base, "-w", "node[1-2]", "-p", "solo")
    assert res.returncode == 3, res
    nodes = {n["node"]: n for n in json.loads(res.stdout)["nodes"]}
    assert nodes["node2"]["verdict"] == "compatible"
    assert nodes["node1"]["verdict"] == "unreachable" and nodes["node1"]["seconds"] == 0  # not tried
    assert nodes["node1"]["reason"] == "not in partition solo (Slurm has it in debug)", nodes["node1"]


def test_a_node_of_a_partition_slurm_reports_down_is_named_so_not_tried(slurm_cluster_env: FleetEnv) -> None:
    """A partition an administrator set down (``scontrol update PartitionName=solo State=DOWN``, before a
    maintenance) queues every job: its node's srun waited out the timeout, then said "Requested nodes are busy
    (asked for 1 GPU: other jobs hold every GPU of the node, or its CPUs)", sending the user after GPU jobs."""
    fe = slurm_cluster_env
    base = ["fleet", "check", str(fe.lock), "--envsnap", str(fe.envsnap), "--json", "--timeout", "30"]
    fe.cluster.run("scontrol", "update", "PartitionName=solo", "State=DOWN")
    try:
        started = time.monotonic()
        down = fe.envsnap_cmd(*base, "-p", "solo")
        elapsed = time.monotonic() - started
        # node2 is in debug too, which is up: -w asks for it there.
        named = fe.envsnap_cmd(*base, "-w", "node2")
    finally:
        fe.cluster.run("scontrol", "update", "PartitionName=solo", "State=UP")
    assert down.returncode == 3, down
    node2 = json.loads(down.stdout)["nodes"][0]
    assert node2["verdict"] == "unreachable" and node2["seconds"] == 0, node2  # not tried
    assert node2["reason"] == "Slurm reports partition solo down", node2
    assert elapsed < 20, elapsed
    assert named.returncode == 0, named
    assert [(n["node"], n["verdict"]) for n in json.loads(named.stdout)["nodes"]] == [("node2", "compatible")]


@pytest.mark.parametrize("nodelist", ["node[1-2", "node[1-", "node1]"])
def test_a_node_list_with_unbalanced_brackets_is_bad_input(slurm_cluster_env: FleetEnv, nodelist: str) -> None:
    """``scontrol show hostnames 'node[1-2'`` prints ``node]`` and exits 0: a typo in a CI script's -w was
    checked as a node called ``node]``, unreachable, exit 3, as if the cluster could not run the lock."""
    fe = slurm_cluster_env
    res = fe.envsnap_cmd("fleet", "check", str(fe.lock), "-w", nodelist, "--envsnap", str(fe.envsnap), "--json")
    assert res.returncode == 2, res
    assert res.stdout == "", res
    assert res.stderr.splitlines() == [
        f"envsnap: error: -w {nodelist!r}: not a Slurm node list (unbalanced brackets)"
    ], res


def test_a_node_in_a_maintenance_reservation_is_named_so_not_tried_and_not_busy(slurm_cluster_env: FleetEnv) -> None:
    """A node in a MAINT reservation (sinfo's ``maint``) read available: its srun, which names no reservation,
    waited out the whole --timeout and read "Requested nodes are busy ... other jobs hold every GPU"."""
    fe = slurm_cluster_env
    cluster = fe.cluster
    cluster.run(
        "scontrol", "create", "reservation", "ReservationName=envsnap_maint", "StartTime=now", "Duration=30",
        "Users=root", "Flags=MAINT", "Nodes=node2",
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 20
        while cluster.node_state("node2")[0] != "maint" and time.monotonic() < deadline:
            time.sleep(0.3)
        started = time.monotonic()
        res = fe.envsnap_cmd(
            "fleet", "check", str(fe.lock), "-w", "node[1-2]", "--envsnap", str(fe.envsnap), "--timeout", "40",
            "--json",
        )  # fmt: skip
        elapsed = time.monotonic() - started
    finally:
        cluster.run("scontrol", "delete", "ReservationName=envsnap_maint", check=False)
    assert res.returncode == 3, res
    nodes = {n["node"]: n for n in json.loads(res.stdout)["nodes"]}
    assert nodes["node1"]["verdict"] == "compatible", nodes
    held = nodes["node2"]
    assert held["verdict"] == "unreachable", held
    assert held["reason"].startswith(
        "Slurm reports the node maint (in maintenance reservation envsnap_maint until 20"
    ), held
    assert "busy" not in held["reason"] and held["gpus_requested"] == 0, held
    assert "; --reservation envsnap_maint would ask it)" in held["reason"], held  # how to check it after all
    assert elapsed < 20, elapsed


# Loaded at envsnap's start (PYTHONPATH): the login node's connections to the slurmd ports named in
# ENVSNAP_TEST_BLOCKED are refused, as by a firewall between the login and the compute nodes; Slurm's own
# daemons and srun still reach them.
_FIREWALL = """import os, socket
_blocked = {int(p) for p in os.environ.get("ENVSNAP_TEST_BLOCKED", "").split(",") if p}
_connect = socket.create_connection
def create_connection(address, *args, **kwargs):
    if address[1] in _blocked:
        raise ConnectionRefusedError(111, "Connection refused")
    return _connect(address, *args, **kwargs)
socket.create_connection = create_connection
"""


def _firewalled(fe: FleetEnv, ports: list[int]) -> dict[str, str]:
    hook = fe.root / "firewall"
    hook.mkdir(exist_ok=True)
    (hook / "sitecustomize.py").write_text(_FIREWALL)
    return {
        "PYTHONPATH": f"{hook}:{Path(__file__).resolve().parents[2]}",
        "ENVSNAP_TEST_BLOCKED": ",".join(str(p) for p in ports),
    }


def test_nodes_whose_slurmd_port_the_login_node_cannot_reach_follow_slurms_state(slurm_cluster_env: FleetEnv) -> None:
    """Behind a firewall that keeps the login node from every slurmd port, each node Slurm reports idle read
    "not responding: its slurmd does not answer" and was not tried, on envsnap's TCP probe alone."""
    fe = slurm_cluster_env
    blocked = _firewalled(fe, list(fe.cluster.ports[n] for n in ("node1", "node2", "node3", "node4")))
    res = fe.envsnap_cmd(
        "fleet", "check", str(fe.lock), "-w", "node[1-2]", "--envsnap", str(fe.envsnap), "--json", extra_env=blocked
    )
    assert res.returncode == 0, res
    nodes = {n["node"]: n for n in json.loads(res.stdout)["nodes"]}
    assert {n: v["verdict"] for n, v in nodes.items()} == {"node1": "compatible", "node2": "compatible"}, nodes


def test_a_node_reserved_before_its_checks_job_would_end_is_named_so_not_tried(slurm_cluster_env: FleetEnv) -> None:
    """A reservation that begins within the time limit of the node's srun (--time) keeps Slurm from starting the
    job there: the node read idle, was tried, and read "Requested nodes are busy" at the end of --timeout."""
    fe = slurm_cluster_env
    cluster = fe.cluster
    cluster.run(
        "scontrol", "create", "reservation", "ReservationName=envsnap_soon", "StartTime=now+60", "Duration=10",
        "Users=root", "Flags=MAINT", "Nodes=node2",
    )  # fmt: skip
    try:
        started = time.monotonic()
        res = fe.envsnap_cmd(
            "fleet", "check", str(fe.lock), "-w", "node[1-2]", "--envsnap", str(fe.envsnap), "--timeout", "40",
            "--json",
        )  # fmt: skip
        elapsed = time.monotonic() - started
    finally:
        cluster.run("scontrol", "delete", "ReservationName=envsnap_soon", check=False)
    assert res.returncode == 3, res
    nodes = {n["node"]: n for n in json.loads(res.stdout)["nodes"]}
    assert nodes["node1"]["verdict"] == "compatible", nodes
    held = nodes["node2"]
    assert held["verdict"] == "unreachable", held
    assert held["reason"].startswith("Slurm holds the node for maintenance reservation envsnap_soon from 20"), held
    assert "before this check's job there would end" in held["reason"], held
    assert "busy" not in held["reason"] and held["gpus_requested"] == 0, held
    assert elapsed < 20, elapsed


def test_a_list_of_partitions_is_each_partition_checked_as_slurm_reads_it(slurm_cluster_env: FleetEnv) -> None:
    """``-p debug,solo`` is a list, as sinfo and srun read it: with a node Slurm does not know it was refused
    ("Slurm knows no partition of this name"), and ``-p gpu,debug`` checked debug alone, the misspelt gpu unsaid.
    A node Slurm does not know is bad input, as a partition is (it was unreachable, exit 3)."""
    fe = slurm_cluster_env
    base = ["fleet", "check", str(fe.lock), "--envsnap", str(fe.envsnap), "--json"]
    res = fe.envsnap_cmd(*base, "-w", "node1", "-p", "debug,solo")
    assert res.returncode == 0, res
    assert [n["verdict"] for n in json.loads(res.stdout)["nodes"]] == ["compatible"], res
    for selection in (["-w", "node1,node9", "-p", "debug,solo"], ["-w", "node9"]):
        res = fe.envsnap_cmd(*base, *selection)
        assert res.returncode == 2 and res.stdout == "", res
        assert res.stderr.splitlines() == [f"envsnap: error: -w '{selection[1]}': Slurm knows no node node9"], res
    for partition, why in (
        ("gpu,debug", "Slurm knows no partition 'gpu' (its partitions: debug, solo)"),
        ("debug,,solo", "an empty partition name in the list"),
    ):
        res = fe.envsnap_cmd(*base, "-p", partition)
        assert res.returncode == 2 and res.stdout == "", res
        assert res.stderr.splitlines() == [f"envsnap: error: -p '{partition}': {why}"], res


def test_a_maintenance_reservation_s_nodes_are_checked_through_it(slurm_cluster_env: FleetEnv) -> None:
    """An administrator checks the nodes of a maintenance window before giving them back: ``--reservation`` names
    it, and each node it holds is asked through it (srun --reservation). Before, no option named one: every node
    in it read "not tried" (maint), and srun without the reservation could not run there."""
    fe = slurm_cluster_env
    cluster = fe.cluster
    cluster.run(
        "scontrol", "create", "reservation", "ReservationName=envsnap_window", "StartTime=now", "Duration=30",
        "Users=root", "Flags=MAINT", "Nodes=node2",
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 20
        while cluster.node_state("node2")[0] != "maint" and time.monotonic() < deadline:
            time.sleep(0.3)
        # Without -w: the reservation's nodes, node2 alone.
        alone = fe.envsnap_cmd(
            "fleet", "check", str(fe.lock), "--reservation", "envsnap_window", "--envsnap", str(fe.envsnap),
            "--timeout", "40", "--json",
        )  # fmt: skip
        # With -w: node1 (outside it) as any node, node2 through it.
        both = fe.envsnap_cmd(
            "fleet", "check", str(fe.lock), "-w", "node[1-2]", "--reservation", "envsnap_window", "--envsnap",
            str(fe.envsnap), "--timeout", "40", "--json",
        )  # fmt: skip
    finally:
        cluster.run("scontrol", "delete", "ReservationName=envsnap_window", check=False)
    assert alone.returncode == 0, alone
    data = json.loads(alone.stdout)
    assert [n["node"] for n in data["nodes"]] == ["node2"], data["nodes"]
    assert data["nodes"][0]["verdict"] == "compatible", data["nodes"]
    assert both.returncode == 0, both
    verdicts = {n["node"]: n["verdict"] for n in json.loads(both.stdout)["nodes"]}
    assert verdicts == {"node1": "compatible", "node2": "compatible"}, both.stdout


@pytest.mark.parametrize(
    ("name", "error"),
    [
        ("envsnap_nosuch", "--reservation envsnap_nosuch: Slurm knows no reservation of this name"),
        ("a b", "--reservation 'a b': not a reservation name"),
        ("envsnap_later", "--reservation envsnap_later: not active: it begins at 20"),
    ],
)
def test_a_reservation_slurm_cannot_run_the_check_in_is_bad_input(
    slurm_cluster_env: FleetEnv, name: str, error: str
) -> None:
    """One line and exit 2 before any node is asked: a name Slurm does not know, one that is not a name, and a
    reservation that has not begun (a srun naming it would wait for its start)."""
    fe = slurm_cluster_env
    fe.cluster.run(
        "scontrol", "create", "reservation", "ReservationName=envsnap_later", "StartTime=now+2hours", "Duration=30",
        "Users=root", "Nodes=node3",
    )  # fmt: skip
    try:
        res = fe.envsnap_cmd(
            "fleet", "check", str(fe.lock), "--reservation", name, "--envsnap", str(fe.envsnap), "--timeout", "40"
        )
    finally:
        fe.cluster.run("scontrol", "delete", "ReservationName=envsnap_later", check=False)
    assert res.returncode == 2, res
    lines = res.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"envsnap: error: {error}"), res.stderr


def test_an_envsnap_path_the_nodes_lack_is_named_per_node_not_unreachable(slurm_cluster_env: FleetEnv) -> None:
    # `--envsnap /nonexistent`: srun reached each node and its slurmstepd could not start the program; the report
    # called every node unreachable, as if Slurm could not reach it.
    fe = slurm_cluster_env
    missing = fe.root / "nonexistent" / "envsnap"
    res = fe.envsnap_cmd("fleet", "check", str(fe.lock), "-w", "node[1-2]", "--envsnap", str(missing), "--json")
    assert res.returncode == 3, res
    nodes = {n["node"]: n for n in json.loads(res.stdout)["nodes"]}
    for name in ("node1", "node2"):
        assert nodes[name]["verdict"] == "invalid", nodes[name]
        assert nodes[name]["reason"] == (
            f"envsnap not found at {missing} on the node (--envsnap PATH names the one the nodes have)"
        ), nodes


def test_a_node_whose_step_exits_non_zero_is_not_taken_at_its_answers_word(slurm_cluster_env: FleetEnv) -> None:
    # A node's task that printed a compatible answer and then exited 1, and one that exited 5 with a line on
    # standard error and no answer: the first counted as compatible (exit 0), the second as unreachable with no
    # word of its exit status.
    fe = slurm_cluster_env
    failing = fe.root / "bin" / "envsnap-exits-non-zero"
    failing.write_text(
        "#!/bin/sh\n"
        f'[ "$SLURMD_NODENAME" = node2 ] && {{ echo "disk quota exceeded" >&2; exit 5; }}\n'
        f'[ "$SLURMD_NODENAME" = node3 ] && kill -9 $$\n'
        f'{fe.envsnap} "$@"\nexit 1\n'
    )
    failing.chmod(0o755)
    res = fe.envsnap_cmd("fleet", "check", str(fe.lock), "-w", "node[1-3]", "--envsnap", str(failing), "--json")
    assert res.returncode == 3, res
    nodes = {n["node"]: n for n in json.loads(res.stdout)["nodes"]}
    assert nodes["node1"]["verdict"] == "invalid", nodes["node1"]
    assert nodes["node1"]["reason"] == "its task exited with status 1 after a compatible answer", nodes["node1"]
    assert nodes["node2"]["verdict"] == "invalid", nodes["node2"]
    assert nodes["node2"]["reason"] == "its task exited with status 5 without an answer: disk quota exceeded", nodes
    # Killed by a signal: srun names the signal, not an exit code; it read unreachable.
    assert (nodes["node3"]["verdict"], nodes["node3"]["reason"]) == (
        "invalid",
        "its task ended (Killed) without an answer",
    ), nodes["node3"]


def test_fleet_capture_files_a_node_reached_without_a_capture_as_invalid_naming_the_cause(
    slurm_cluster_env: FleetEnv,
) -> None:
    # `fleet check` calls a node without envsnap at --envsnap, or whose task a signal killed, invalid with the cause;
    # `fleet capture` filed both under [fleet.unreachable], as if Slurm could not reach them.
    from envsnap._toml import tomllib
    from envsnap.fleet import fleetfile

    fe = slurm_cluster_env
    killing = fe.root / "bin" / "envsnap-killed-on-node2"
    killing.write_text(f'#!/bin/sh\n[ "$SLURMD_NODENAME" = node2 ] && kill -9 $$\nexec {fe.envsnap} "$@"\n')
    killing.chmod(0o755)
    path = fe.root / "fleet-invalid.toml"
    res = fe.envsnap_cmd("fleet", "capture", "-w", "node[1-3]", "--envsnap", str(killing), "-o", str(path))
    assert res.returncode == 3, res
    data = tomllib.loads(path.read_text())
    assert data["fleet"]["nodes"] == ["node1", "node3"], data["fleet"]
    assert data["fleet"]["invalid"] == {"node2": "its task ended (Killed) without an answer"}, data["fleet"]
    assert "unreachable" not in data["fleet"], data["fleet"]
    assert "node2: invalid: its task ended (Killed) without an answer" in res.stdout + res.stderr, res

    missing = fe.root / "nonexistent" / "envsnap"
    none = fe.root / "fleet-none.toml"
    res = fe.envsnap_cmd("fleet", "capture", "-w", "node[1-2]", "--envsnap", str(missing), "-o", str(none))
    assert res.returncode == 3, res
    why = f"envsnap not found at {missing} on the node (--envsnap PATH names the one the nodes have)"
    loaded = fleetfile.load(none)
    assert (dict(loaded.invalid), dict(loaded.unreachable), dict(loaded.nodes)) == (
        {"node1": why, "node2": why},
        {},
        {},
    )
    diff = fe.envsnap_cmd("fleet", "diff", str(path), str(none))
    assert f"node1: captured -> invalid: {why}" in diff.stdout, diff
    # Without a capture in both files, for one reason in each: both reasons (it gave the new file's alone).
    assert (
        "node2: not compared: no capture in either file (old: invalid: its task ended (Killed) without an answer; "
        f"new: invalid: {why})"
    ) in diff.stdout, diff


def test_a_cpu_partitions_prolog_with_cpu_only_drains_no_node_without_a_driver(slurm_cluster_env: FleetEnv) -> None:
    """The lock's torch is a CUDA build (pip's default): on a node without an NVIDIA driver, the prolog drained the
    node ("found no NVIDIA driver"), and `fleet prolog` had no --cpu-only that a CPU partition's prolog could pass,
    as check, fleet check and fleet node have. With it, the node runs the job and stays idle."""
    fe = slurm_cluster_env
    cluster = fe.cluster
    no_driver = {**fe.env, "ENVSNAP_TEST_NO_DRIVER": "1"}  # the TaskProlog leaves the task no NVML (fleet_env.py)
    prolog = ["srun", "-w", "node1", "-N1", "-n1", "--gres=gpu:0", "--", str(fe.envsnap), "fleet", "prolog"]
    try:
        done = cluster.run(*prolog, "--cpu-only", str(fe.lock), check=False, timeout=120, env=no_driver)
        assert done.returncode == 0, done
        assert "envsnap: node1 can run" in done.stdout, done
        assert cluster.node_state("node1")[0] == "idle"
        # Without it, the CUDA failure is the node's: drained, as before.
        refused = cluster.run(*prolog, str(fe.lock), check=False, timeout=120, env=no_driver)
        assert refused.returncode != 0 and "found no NVIDIA driver" in refused.stderr, refused
    finally:
        cluster.resume("node1")


def test_fleet_check_drain_drains_the_node_that_cannot_run_the_lock_and_no_other(slurm_cluster_env: FleetEnv) -> None:
    """node3's driver (its TaskProlog's) is too old for the lock: ``--drain`` leaves it drained with envsnap's reason,
    as ``fleet prolog`` words it, and node1 and node2, which pass, idle."""
    fe = slurm_cluster_env
    cluster = fe.cluster
    try:
        res = fe.envsnap_cmd(
            "fleet",
            "check",
            str(fe.lock),
            "-w",
            "node[1-3]",
            "--envsnap",
            str(fe.envsnap),
            "--timeout",
            "120",
            "--drain",
        )
        states = {n: cluster.node_state(n) for n in ("node1", "node2", "node3")}
        shown = cluster.show_node("node3")
        listed = cluster.run("sinfo", "-R", "-h", "-n", "node3").stdout
    finally:
        cluster.resume("node3")
    assert listed.startswith("envsnap: driver<530:"), listed  # sinfo -R's 20 characters name the driver
    assert res.returncode == 3, res
    assert states["node1"] == ("idle", "none") and states["node2"] == ("idle", "none"), states
    state, reason = states["node3"]
    assert state == "drained" and reason.startswith("envsnap: driver<530: cannot run lock "), states
    assert "NVIDIA driver: needs" in reason, states
    assert "DRAIN" in shown, shown
    assert res.stderr.strip().splitlines() == [f"node3: drained: {reason}"], res
