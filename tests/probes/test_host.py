from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from envsnap._privacy import PathRedactor, strip_credentials, strip_credentials_in_text
from envsnap.probes import environment, host, project

X86_CPUINFO = """\
processor\t: 0
vendor_id\t: GenuineIntel
model name\t: Intel(R) Xeon(R) Platinum 8480+
flags\t\t: fpu vme sse sse2 ssse3 fma sse4_1 sse4_2 avx avx2 avx512f avx512bw amx_tile hypervisor

processor\t: 1
vendor_id\t: GenuineIntel
model name\t: Intel(R) Xeon(R) Platinum 8480+
flags\t\t: fpu vme sse sse2
"""

ARM_CPUINFO = """\
processor\t: 0
BogoMIPS\t: 2000.00
Features\t: fp asimd evtstrm aes pmull sha1 sha2 crc32 atomics fphp asimdhp sve
CPU implementer\t: 0x41
CPU architecture: 8
"""


def test_parse_cpuinfo_x86_keeps_the_isa_flags_that_matter() -> None:
    cpu = host.parse_cpuinfo(X86_CPUINFO, "x86_64")
    assert cpu.vendor == "GenuineIntel" and cpu.model == "Intel(R) Xeon(R) Platinum 8480+"
    assert cpu.flags == (
        "amx_tile",
        "avx",
        "avx2",
        "avx512bw",
        "avx512f",
        "fma",
        "sse",
        "sse2",
        "sse4_1",
        "sse4_2",
        "ssse3",
    )


def test_parse_cpuinfo_aarch64() -> None:
    cpu = host.parse_cpuinfo(ARM_CPUINFO, "aarch64")
    assert cpu.vendor == "ARM" and cpu.arch == "aarch64"
    assert {"neon", "asimd", "sve", "atomics"} <= set(cpu.flags)


def test_parse_os_release_and_meminfo() -> None:
    osr = host.parse_os_release('ID=ubuntu\nVERSION_ID="22.04"\nPRETTY_NAME="Ubuntu 22.04.4 LTS"\n# c\n')
    assert osr == {"ID": "ubuntu", "VERSION_ID": "22.04", "PRETTY_NAME": "Ubuntu 22.04.4 LTS"}
    assert host.parse_meminfo("MemTotal:       24683044 kB\nMemFree: 1 kB\n") == 24104


def test_probe_platform_reads_this_host() -> None:
    plat = host.probe_platform()
    assert plat.system == "Linux" and plat.machine and plat.kernel
    if os.path.exists("/etc/debian_version"):
        assert plat.os_id == "debian" and plat.libc == "glibc" and plat.libc_version.count(".") == 1


def test_environment_filter_keeps_numerics_and_drops_secrets() -> None:
    home = os.path.expanduser("~")
    environ = {
        "OMP_NUM_THREADS": "4",
        "CUBLAS_WORKSPACE_CONFIG": ":4096:8",
        "PYTHONHASHSEED": "0",
        "TORCH_DETERMINISTIC": "1",
        "LD_LIBRARY_PATH": f"{home}/cuda/lib64:/usr/local/cuda/lib64",
        "HF_TOKEN": "hf_abcdefghijklmnopqrstuvwxyz123456",
        "TORCH_HUB_TOKEN": "whatever",
        "TF_API_KEY": "k",
        "TF_CONFIG": "ghp_abcdefghijklmnopqrstuvwxyz0123456789",
        "NCCL_SOCKET_IFNAME": "eth0",
        "PATH": "/usr/bin",
        "HOME": home,
        "USER": "alice",
        "XLA_FLAGS": "--xla_dump_to=https://bob:pw@example.org/dump",
        # Terraform shares TensorFlow's TF_ prefix; its inputs and the short spellings of passwords are secrets.
        "TF_VAR_db_pass": "hunter2",
        "TF_VAR_region": "eu-west-1",
        "TF_CLI_CONFIG_FILE": f"{home}/.terraformrc",
        "NCCL_IB_PASS": "hunter2",
        "TORCH_HUB_PW": "hunter2",
        "TF_ENABLE_ONEDNN_OPTS": "0",
    }
    out = environment.filter_environment(environ, PathRedactor(home=home))
    assert out == {
        "CUBLAS_WORKSPACE_CONFIG": ":4096:8",
        "LD_LIBRARY_PATH": "~/cuda/lib64:/usr/local/cuda/lib64",
        "NCCL_SOCKET_IFNAME": "eth0",
        "OMP_NUM_THREADS": "4",
        "PYTHONHASHSEED": "0",
        "TF_ENABLE_ONEDNN_OPTS": "0",
        "TORCH_DETERMINISTIC": "1",
        "XLA_FLAGS": "--xla_dump_to=https://example.org/dump",
    }


def _as_login(monkeypatch: pytest.MonkeyPatch, home: str, login: str, **env: str) -> None:
    """This process as ``login`` (the password database's name is root's, which identifies nobody), at ``home``."""
    import getpass
    import pwd

    monkeypatch.setattr(getpass, "getuser", lambda: env.get("LOGNAME") or env.get("USER") or login)
    monkeypatch.setattr(pwd, "getpwuid", lambda uid: pwd.struct_passwd(("root", "x", 0, 0, "", "/root", "/bin/sh")))
    monkeypatch.setenv("HOME", home)
    for name in ("USER", "LOGNAME"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)


def test_a_home_not_named_for_its_user_gives_no_login_name(monkeypatch: pytest.MonkeyPatch) -> None:
    """The login names a capture hides were the login and the last part of ``$HOME``: with ``HOME=/x/home`` every
    ``home`` became ``<user>``, so another user's ``/home/bob/cache`` was recorded as ``/<user>/<user>/cache`` and
    ``/data/lab/home/x`` as ``/data/lab/<user>/x``. The login is the user's, not a folder's."""
    _as_login(monkeypatch, "/x/home", "carol", USER="carol")
    environ = {
        "TORCH_HOME": "/home/bob/cache/torch",
        "TRITON_CACHE_DIR": "/data/lab/home/x",
        "XLA_FLAGS": "--xla_dump_to=/scratch/carol/dump",
        "TF_DATA": "/x/home/data",
    }
    assert environment.filter_environment(environ, PathRedactor()) == {
        "TORCH_HOME": "/home/<user>/cache/torch",
        "TRITON_CACHE_DIR": "/data/lab/home/x",
        "XLA_FLAGS": "--xla_dump_to=/scratch/<user>/dump",
        "TF_DATA": "~/data",
    }


def test_the_login_and_the_users_home_are_hidden(monkeypatch: pytest.MonkeyPatch) -> None:
    """The usual layout: ``/home/alice`` is ``~``, ``alice`` elsewhere ``<user>``, another user's home
    ``/home/<user>``; ``$USER`` and ``$LOGNAME`` are both the user's where they differ (``su``, a batch system),
    and the name of a home directly in ``/home`` is its user's where no login says so (a container run as root)."""
    _as_login(monkeypatch, "/home/alice", "alice")
    redact = PathRedactor()
    assert redact.path("/home/alice/proj/x") == "~/proj/x"
    assert redact.path("/scratch/alice/x") == "/scratch/<user>/x"
    assert redact.path("/home/bob/x") == "/home/<user>/x"
    assert redact.path("/data/home/x") == "/data/home/x"
    _as_login(monkeypatch, "/x/home", "alice", USER="alice", LOGNAME="al2")
    assert PathRedactor().path("/scratch/alice/al2/home") == "/scratch/<user>/<user>/home"
    _as_login(monkeypatch, "/home/dave", "root")
    assert PathRedactor().path("/scratch/dave/x") == "/scratch/<user>/x"


_OLD_URL_IN_TEXT = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://[^\s'\";,]+")  # the quadratic pattern it replaced


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.sampled_from([*"ab9+.-:/@ ;'\"", "://", "https://u:pw@h", "git+ssh://t:x@g/"]), max_size=40).map(
        "".join
    )
)
def test_urls_in_text_are_found_as_the_simple_pattern_finds_them(text: str) -> None:
    expected = _OLD_URL_IN_TEXT.sub(lambda m: strip_credentials(m.group(0)), text)
    assert strip_credentials_in_text(text) == expected


def test_huge_environment_values_are_filtered_in_linear_time() -> None:
    # Ten variables at the kernel's 128 KiB limit: the old URL pattern needed about 11 s for each one.
    code = (
        "from envsnap.probes.environment import filter_environment\n"
        "from envsnap._privacy import PathRedactor\n"
        "env = {f'OMP_V{i}': 'a' * 131000 for i in range(10)}\n"
        "env['XLA_FLAGS'] = 'https://bob:pw@example.org/x ' + 'b' * 131000\n"
        "out = filter_environment(env, PathRedactor(home='/nonexistent'))\n"
        "assert len(out) == 11 and out['XLA_FLAGS'].startswith('https://example.org/x b')\n"
    )
    # A guard against the quadratic blow-up coming back (about 110 s then), not a speed target.
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


def _git(cwd: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(cwd), *args], check=True, capture_output=True, text=True).stdout


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = tmp_path / "proj"
    root.mkdir()
    _git(root, "init", "-q", "-b", "main")
    _git(root, "config", "user.email", "t@example.org")
    _git(root, "config", "user.name", "t")
    (root / "train.py").write_text("print('hi')\n")
    _git(root, "add", "train.py")
    _git(root, "commit", "-qm", "first")
    _git(root, "remote", "add", "origin", "https://carol:hunter2@git.example.org/lab/proj.git")
    return root


def test_project_clean_then_dirty(repo: Path) -> None:
    clean = project.probe_project(str(repo))
    assert clean is not None
    assert clean.commit == _git(repo, "rev-parse", "HEAD").strip()
    assert clean.branch == "main" and not clean.dirty and clean.diff_digest == ""
    assert clean.remote_url == "https://git.example.org/lab/proj.git"
    (repo / "train.py").write_text("print('changed')\n")
    dirty = project.probe_project(str(repo / "."))
    assert dirty is not None and dirty.dirty and dirty.diff_digest.startswith("sha256:")
    (repo / "new.py").write_text("x = 1\n")
    dirtier = project.probe_project(str(repo))
    assert dirtier is not None and dirtier.diff_digest != dirty.diff_digest
    assert project.probe_project(str(repo)) == dirtier  # deterministic


def test_the_lockfile_being_written_does_not_make_the_project_dirty(repo: Path) -> None:
    # Capturing twice in a work tree: the first lock, untracked (then committed and rewritten), must not turn
    # the second capture dirty with a digest that changes every time (the lock holds its creation time).
    def capture_in_repo(*args: str) -> str:
        subprocess.run([sys.executable, "-m", "envsnap", "capture", *args], cwd=repo, check=True, capture_output=True)
        text = (repo / (args[1] if args else "envsnap.lock")).read_text()
        return "\n".join(line for line in text.splitlines() if not line.startswith("created = "))

    first = capture_in_repo()
    assert capture_in_repo() == first
    assert "dirty = false" in first
    _git(repo, "add", "envsnap.lock")
    _git(repo, "commit", "-qm", "lock")
    again = capture_in_repo()
    assert "dirty = false" in again and capture_in_repo() == again
    # The commit since the lock's changes only the lock: capture leaves it as committed (it rewrote it for the new
    # commit, without end), so nothing differs from the work tree's commit.
    state = project.probe_project(str(repo))
    assert state is not None and not state.dirty
    lock = repo / "envsnap.lock"
    lock.write_text(lock.read_text() + "\n")  # a lock being written again: left out of what makes the tree dirty
    excluded = project.probe_project(str(repo), exclude=[str(lock)])
    included = project.probe_project(str(repo))  # the rewritten lock differs from its committed version
    assert excluded is not None and not excluded.dirty and included is not None and included.dirty
    (repo / "train.py").write_text("print('changed')\n")
    assert "dirty = true" in capture_in_repo("-o", "other.lock")  # other changes still count


def test_not_a_git_work_tree(tmp_path: Path) -> None:
    assert project.probe_project(str(tmp_path)) is None


def test_untracked_run_records_do_not_make_the_project_dirty(repo: Path) -> None:
    # A second `envsnap run -o exp2.toml` (or `rerun exp1.toml` once exp2.toml exists) found the work tree
    # dirty: the other runs' records were counted as changes to the code.
    from envsnap.runs import record as rec

    sample = rec.RunRecord(
        run=rec.Meta(generator="envsnap 0", created="2026-01-01T00:00:00.000Z"),
        command=rec.Command(argv=("true",)),
        result=rec.Outcome(
            started="2026-01-01T00:00:00.000Z", ended="2026-01-01T00:00:01.000Z", duration_ms=1000, exit_status=0
        ),
    )
    rec.dump(sample, repo / "exp1.toml")
    (repo / "results").mkdir()
    rec.dump(sample, repo / "results" / "exp2.toml")
    found = project.probe_project(str(repo))
    assert found is not None and not found.dirty
    # Any other untracked .toml still counts.
    (repo / "config.toml").write_text('[run]\nkind = "mine"\n')
    found = project.probe_project(str(repo))
    assert found is not None and found.dirty


def test_the_host_name_is_read_without_importing_socket() -> None:
    """``host_names`` (what a capture redacts) takes ``uname``'s node name, the name ``socket.gethostname`` gives on
    POSIX, without importing ``socket``."""
    code = (
        "import sys, socket as early\n"
        "del sys.modules['socket']\n"
        "from envsnap._privacy import host_names\n"
        "names = host_names()\n"
        "print('socket' in sys.modules)\n"
        "print(early.gethostname() in names)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out == ["False", "True"]


def test_the_user_base_is_recorded_as_the_user_site_it_chooses(tmp_path: Path) -> None:
    """``PYTHONUSERBASE`` chooses the user site-packages (``pip install --user``) a capture reads its packages from
    (the target's ``site`` reads it under ``-E``): captured with it, verified without it, the lock's six 1.16.0 read
    ``six: version 1.16.0 -> 1.17.0`` and nothing named the variable that had been set."""
    home = "/home/alice"
    out = environment.filter_environment({"PYTHONUSERBASE": f"{home}/userbase", "HOME": home}, PathRedactor(home=home))
    assert out == {"PYTHONUSERBASE": "~/userbase"}


@pytest.mark.parametrize(
    ("text", "is_wsl"),
    [
        ("Linux version 5.15.167.4-microsoft-standard-WSL2 (root@f9c826d3017f) (gcc (GCC) 11.2.0) #1 SMP", True),
        ("Linux version 4.4.0-19041-Microsoft (Microsoft@Microsoft.com) (gcc version 5.4.0 (GCC) ) #1-Microsoft", True),
        ("Linux version 6.1.0-28-amd64 (debian-kernel@lists.debian.org) (gcc-12 (Debian 12.2.0-14) 12.2.0)", False),
        ("", False),
    ],
)
def test_wsl_kernel(text: str, is_wsl: bool) -> None:
    assert host.wsl_kernel(text) is is_wsl


def test_wsl_reads_proc_version_and_dev_dxg(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    version = tmp_path / "version"
    version.write_text("Linux version 6.1.0-28-amd64\n")
    monkeypatch.setattr(host, "PROC_VERSION", str(version))
    monkeypatch.setattr(host, "DXG", str(tmp_path / "dxg"))
    assert host.wsl() is False
    (tmp_path / "dxg").touch()
    assert host.wsl() is True
    monkeypatch.setattr(host, "DXG", str(tmp_path / "no-dxg"))
    version.write_text("Linux version 5.15.167.4-microsoft-standard-WSL2\n")
    assert host.wsl() is True
    monkeypatch.setattr(host, "PROC_VERSION", str(tmp_path / "none"))
    assert host.wsl() is False
