"""Where a lock may send envsnap (issue 11, docs/security.md "Execution and network").

A tiny http server on 127.0.0.1 (``fetchserver``) plays the attacker's host: each test checks that a lock
pointing there (or at ``file://``) makes envsnap read nothing, and that the same flow works once the user
allows it with ``--allow-url`` or configures the index themselves.
"""

from __future__ import annotations

import hashlib
import os
import shlex
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from fetchserver import lock_text, make_wheel, package_toml, serving, sha256_of

from envsnap import lockfile
from envsnap._fetchpolicy import FetchPolicy, FetchRefusedError, allowances, trusted_locations
from envsnap.artifacts import conda as conda_archives
from envsnap.artifacts.pin import Fetcher, IndexConfig, Pinner, pin
from envsnap.errors import PinError, RebuildError
from envsnap.model import Artifact, CondaPackage, PythonEnv, PythonPackage, Snapshot
from envsnap.probes._pyprobe import wheel_record_digest

UV_VARS = ("UV_INDEX_URL", "UV_EXTRA_INDEX_URL", "UV_DEFAULT_INDEX", "UV_INDEX", "UV_FIND_LINKS", "UV_NO_INDEX")
UV_VARS += ("UV_CONFIG_FILE", "XDG_CONFIG_HOME", "XDG_CONFIG_DIRS")


@pytest.fixture(autouse=True)
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """No pip configuration of this machine's and no standing allowance: only what a test passes."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setenv("PIP_CONFIG_FILE", os.devnull)
    for var in (
        "PIP_INDEX_URL",
        "PIP_EXTRA_INDEX_URL",
        "PIP_FIND_LINKS",
        "PIP_NO_INDEX",
        "ENVSNAP_ALLOW_URL",
        *UV_VARS,
    ):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("UV_NO_CONFIG", "1")
    monkeypatch.setenv("PIP_NO_INDEX", "1")  # nothing configured: the lock's own URLs are all there is
    return home


def _one_error_line(err: str) -> None:
    lines = [line for line in err.splitlines() if line.strip()]
    assert lines and lines[-1].startswith("envsnap: error:"), err
    assert "Traceback" not in err, err


# ------------------------------------------------------------------------------------------- the rule


@pytest.mark.parametrize(
    "url",
    [
        "file:///etc/shadow",
        "/etc/shadow",
        "http://example.org/x.whl",
        "https://127.0.0.1/x.whl",
        "https://127.1.2.3:8443/x.whl",
        "https://localhost/x.whl",
        "https://foo.localhost/x.whl",
        "https://[::1]/x.whl",
        "https://[::ffff:127.0.0.1]/x.whl",
        "https://10.0.0.5/x.whl",
        "https://192.168.1.1/x.whl",
        "https://172.16.0.1/x.whl",
        "https://169.254.169.254/latest/meta-data/",
        "https://100.64.0.1/x.whl",
        "https://0.0.0.0/x.whl",
        "https://224.0.0.1/x.whl",
        "ssh://git@example.org/x.git",
        "git+ssh://git@example.org/x.git",
        "ftp://example.org/x.whl",
        "https://example.org/x.whl\nHost: y",
        "",
    ],
)
def test_the_default_policy_refuses(url: str) -> None:
    assert FetchPolicy().refusal(url) is not None
    with pytest.raises(FetchRefusedError) as caught:
        FetchPolicy().check(url)
    assert "\n" not in str(caught.value) and caught.value.exit_code == 2


@pytest.mark.parametrize(
    "url", ["https://8.8.8.8/x.whl", "https://[2001:4860:4860::8888]/simple/x/", "git+https://1.1.1.1/repo.git"]
)
def test_https_to_a_public_address_is_allowed(url: str) -> None:
    assert FetchPolicy().refusal(url) is None


def test_allow_url_patterns_and_configured_locations(tmp_path: Path) -> None:
    policy = FetchPolicy(
        allow=("http://127.0.0.1:8000/*",),
        trusted=trusted_locations(["http://10.1.2.3/simple"], [str(tmp_path / "wheels")]),
    )
    assert policy.refusal("http://127.0.0.1:8000/a/b.whl") is None
    assert policy.refusal("http://127.0.0.1:8001/a/b.whl") is not None
    assert policy.refusal("http://10.1.2.3/simple/x/") is None  # the user's own index
    assert policy.refusal("http://10.1.2.3/simple/../secret") is not None
    assert policy.refusal("http://10.1.2.3/simpler") is not None
    assert policy.refusal((tmp_path / "wheels" / "x.whl").as_uri()) is None
    assert policy.refusal((tmp_path / "wheels" / ".." / "secret").as_uri()) is not None
    assert policy.refusal("file:///etc/shadow") is not None


def test_an_allow_url_pattern_names_a_local_folder_as_written_and_only_it(tmp_path: Path) -> None:
    """A project moved to ``/tmp/my prøj``: its wheels' URLs are percent-encoded (``my%20pr%C3%B8j``), and
    ``--allow-url 'file:///tmp/my prøj/wheels/*'``, the folder as the user writes it, was refused with the
    message asking for --allow-url; only the encoded form matched. Both forms match now, and a ``..`` in the
    URL no longer leads out of the allowed folder (``*`` matched ``../../etc/shadow``)."""
    folder = tmp_path / "my prøj" / "wheels"
    url = (folder / "x-1-py3-none-any.whl").as_uri()
    assert "%20" in url
    for pattern in (f"file://{folder}/*", folder.as_uri() + "/*"):
        policy = FetchPolicy(allow=(pattern,))
        assert policy.refusal(url) is None, pattern
        assert policy.refusal(folder.as_uri() + "/../../../etc/shadow") is not None, pattern
        assert policy.refusal(f"file://{folder}/%2e%2e/%2e%2e/secret") is not None, pattern
    assert FetchPolicy(allow=("file:///srv/wheels/*",)).refusal("file:///srv/wheels/../../etc/shadow") is not None
    assert FetchPolicy(allow=("file:///srv/*",)).refusal("file:///srv/wheels/../x.whl") is None
    assert FetchPolicy(allow=("file:///srv/wheel?/*",)).refusal("file:///srv/wheels/x.whl") is None


def test_the_environment_form_of_allow_url() -> None:
    assert allowances(("a",), {"ENVSNAP_ALLOW_URL": "file:///srv/*  http://127.0.0.1:*"}) == (
        "file:///srv/*",
        "http://127.0.0.1:*",
        "a",
    )


def _opened_urls(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every URL the fetcher opens from now on, in order."""
    opened: list[str] = []
    original = Fetcher._stream

    def spy(self: Fetcher, url: str, checked: bool = False) -> Any:
        opened.append(url)
        return original(self, url, checked)

    monkeypatch.setattr(Fetcher, "_stream", spy)
    return opened


# -------------------------------------------------------------------------------- attacks, by command


def test_an_artifact_url_on_file_is_refused_before_reading(
    tmp_path: Path, cli: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """`artifact.url = "file:///etc/shadow"` was read and its sha256 printed in the error."""
    secret = tmp_path / "shadow"
    secret.write_bytes(b"root:$6$secret-hash:19000:0:99999:7:::\n")
    opened = _opened_urls(monkeypatch)
    lock = tmp_path / "l.lock"
    lock.write_text(
        lock_text(
            packages=package_toml(
                "evil", "1.0", filename="evil-1.0-py3-none-any.whl", url=secret.as_uri(), sha256="0" * 64
            )
        )
    )
    for args in (("rebuild", lock, "--dest", tmp_path / "env"), ("bundle", lock, "-o", tmp_path / "b")):
        result = cli(*args)
        assert result.code == 2, result
        _one_error_line(result.err)
        assert hashlib.sha256(secret.read_bytes()).hexdigest() not in result.err + result.out
    assert opened == []
    assert not (tmp_path / "env").exists() and not (tmp_path / "b").exists()


def test_a_plain_rebuild_does_not_fetch_from_a_loopback_artifact_url(tmp_path: Path, cli: Callable[..., Any]) -> None:
    wheel = make_wheel(tmp_path / "build", "evil", "1.0")
    with serving() as server:
        url = server.add("/" + wheel.name, wheel.read_bytes())
        lock = tmp_path / "l.lock"
        lock.write_text(
            lock_text(packages=package_toml("evil", "1.0", filename=wheel.name, url=url, sha256=sha256_of(wheel)))
        )
        result = cli("rebuild", lock, "--dest", tmp_path / "env")
        assert server.requests == []
    assert result.code == 2, result
    _one_error_line(result.err)
    assert "--allow-url" in result.err


def test_pin_does_not_follow_a_lock_archive_url_or_its_imported_index(tmp_path: Path) -> None:
    wheel = make_wheel(tmp_path / "build", "evil", "1.0")
    with serving() as server:
        url = server.add("/" + wheel.name, wheel.read_bytes())
        archive = PythonPackage("evil", "1.0", wheel_tags=("py3-none-any",), source=_archive_source(url, wheel))
        hashed = PythonPackage(
            "other",
            "1.0",
            wheel_tags=("py3-none-any",),
            artifact=Artifact("", "", "b" * 64, index=server.url + "/simple"),
        )
        lock = Snapshot(python=PythonEnv(version="3.11.7", packages=(archive, hashed)))
        result = pin(lock, IndexConfig(no_index=True), cache_dir=tmp_path / "cache")
        assert server.requests == []
    reasons = {o.name: (o.status, o.reason) for o in result.outcomes}
    assert reasons["evil"][0] == "unpinned" and "not fetched" in reasons["evil"][1]
    assert reasons["other"][0] == "unpinned" and "is not read" in reasons["other"][1]


def _archive_source(url: str, wheel: Path) -> Any:
    from envsnap.model import Source

    return Source(kind="archive", url=url, archive_hash=f"sha256={sha256_of(wheel)}")


def test_bundle_does_not_clone_a_loopback_git_url(tmp_path: Path, cli: Callable[..., Any]) -> None:
    with serving() as server:
        source = f'kind = "vcs"\nvcs = "git"\nurl = "{server.url}/repo.git"\ncommit_id = "{"a" * 40}"'
        lock = tmp_path / "l.lock"
        lock.write_text(lock_text(packages=package_toml("gitpkg", "1.0", source=source)))
        result = cli("bundle", lock, "-o", tmp_path / "b")
        assert server.requests == []
    assert result.code == 2, result
    _one_error_line(result.err)


def test_the_conda_layer_does_not_fetch_a_loopback_or_file_channel(tmp_path: Path) -> None:
    with serving() as server:
        for url in (f"{server.url}/c/noarch/x-1-0.conda", (tmp_path / "x-1-0.conda").as_uri()):
            pkg = CondaPackage(name="x", version="1", build="0", url=url, sha256="a" * 64)
            with pytest.raises(FetchRefusedError):
                conda_archives.fetch_all([pkg], tmp_path / "cache", by_hash=True)
        assert server.requests == []


def test_a_redirect_is_checked_again(tmp_path: Path) -> None:
    """An allowed URL may not bounce envsnap somewhere the policy refuses."""
    wheel = make_wheel(tmp_path / "build", "evil", "1.0")
    with serving() as server:
        server.add("/secret/" + wheel.name, wheel.read_bytes())
        server.redirects["/ok/" + wheel.name] = f"{server.url}/secret/{wheel.name}"
        pinner = Pinner(IndexConfig(no_index=True), tmp_path / "cache", allow_urls=(server.url + "/ok/*",))
        art = Artifact(wheel.name, f"{server.url}/ok/{wheel.name}", sha256_of(wheel))
        with pytest.raises(FetchRefusedError, match="redirect"):
            pinner.fetch_artifact(art)
        assert server.requests == ["/ok/" + wheel.name]
    assert not list((tmp_path / "cache").rglob("*.whl"))


# --------------------------------------------------------------------- the legitimate flows, allowed


def _tinypkg_lock(tmp_path: Path) -> tuple[Path, Path]:
    """A wheel of ``tinypkg`` 1.0 and a lock (``l.lock``) that records it unpinned, as a capture of it would."""
    wheel = make_wheel(tmp_path / "build", "tinypkg", "1.0")
    pkg = PythonPackage("tinypkg", "1.0", wheel_tags=("py3-none-any",), record_digest=wheel_record_digest(str(wheel)))
    lock = tmp_path / "l.lock"
    lockfile.dump(Snapshot(python=PythonEnv(version="3.11.7", packages=(pkg,))), lock)
    return wheel, lock


def _index_page(server: Any, wheel: Path) -> None:
    name = wheel.name.split("-")[0]
    server.add(f"/files/{wheel.name}", wheel.read_bytes())
    server.add(
        f"/simple/{name}/",
        f'<a href="/files/{wheel.name}#sha256={sha256_of(wheel)}">{wheel.name}</a>'.encode(),
        "text/html",
    )


def test_rebuild_from_a_loopback_artifact_url_with_allow_url(tmp_path: Path, cli: Callable[..., Any]) -> None:
    wheel = make_wheel(tmp_path / "build", "tinypkg", "1.0")
    with serving() as server:
        url = server.add("/" + wheel.name, wheel.read_bytes())
        lock = tmp_path / "l.lock"
        lock.write_text(
            lock_text(
                version="",
                packages=package_toml("tinypkg", "1.0", filename=wheel.name, url=url, sha256=sha256_of(wheel)),
            )
        )
        result = cli("rebuild", lock, "--dest", tmp_path / "env", "--force", "--allow-url", server.url + "/*")
        assert server.requests == ["/" + wheel.name]
    assert result.code == 0, result
    assert (tmp_path / "env" / "bin" / "python").exists()


def test_pin_from_an_imported_loopback_index_with_allow_url(tmp_path: Path, cli: Callable[..., Any]) -> None:
    wheel = make_wheel(tmp_path / "build", "tinypkg", "1.0")
    pkg = PythonPackage("tinypkg", "1.0", wheel_tags=("py3-none-any",), record_digest=wheel_record_digest(str(wheel)))
    with serving() as server:
        _index_page(server, wheel)
        hashed = PythonPackage(
            pkg.name,
            pkg.version,
            wheel_tags=pkg.wheel_tags,
            record_digest=pkg.record_digest,
            artifact=Artifact("", "", sha256_of(wheel), index=server.url + "/simple"),
        )
        path = tmp_path / "l.lock"
        lockfile.dump(Snapshot(python=PythonEnv(version="3.11.7", packages=(hashed,))), path)
        refused = cli("pin", path, "-o", tmp_path / "refused.lock")
        assert refused.code == 0 and server.requests == []
        assert lockfile.load(tmp_path / "refused.lock").python.packages[0].artifact.filename == ""  # type: ignore[union-attr]
        allowed = cli("pin", path, "-o", tmp_path / "pinned.lock", "--allow-url", server.url + "/*")
        assert allowed.code == 0, allowed
    art = lockfile.load(tmp_path / "pinned.lock").python.packages[0].artifact
    assert art is not None and (art.filename, art.sha256) == (wheel.name, sha256_of(wheel))


def test_a_configured_index_on_loopback_needs_no_flag(
    tmp_path: Path, cli: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The user's own index (PIP_INDEX_URL) is trusted, and so is every file it lists: a lock pinned against
    it rebuilds without --allow-url, even though its artifact URLs are on 127.0.0.1."""
    wheel = make_wheel(tmp_path / "build", "tinypkg", "1.0")
    with serving() as server:
        _index_page(server, wheel)
        monkeypatch.delenv("PIP_NO_INDEX")
        monkeypatch.setenv("PIP_INDEX_URL", server.url + "/simple")
        lock = tmp_path / "l.lock"
        lock.write_text(
            lock_text(
                version="",
                packages=package_toml(
                    "tinypkg",
                    "1.0",
                    filename=wheel.name,
                    url=f"{server.url}/files/{wheel.name}",
                    sha256=sha256_of(wheel),
                ),
            )
        )
        result = cli("rebuild", lock, "--dest", tmp_path / "env", "--force")
    assert result.code == 0, result


def test_pin_writes_no_lock_whose_configured_index_the_loader_refuses(
    tmp_path: Path, cli: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """pip.conf's ``index-url = http://host/${X}/simple``: pin recorded that index in the lock it wrote, which then
    failed to load (an index holds no ``${...}``). pin refuses it as it refuses any configuration it cannot use: one
    line, exit 2, nothing read, the lock left as it was."""
    wheel, lock = _tinypkg_lock(tmp_path)
    before = lock.read_bytes()
    with serving() as server:
        server.add(f"/files/{wheel.name}", wheel.read_bytes())
        server.add(
            "/$%7BX%7D/simple/tinypkg/",  # as urllib asks for it
            f'<a href="/files/{wheel.name}#sha256={sha256_of(wheel)}">{wheel.name}</a>'.encode(),
            "text/html",
        )
        conf = tmp_path / "pip.conf"
        conf.write_text(f"[global]\nindex-url = {server.url}/${{X}}/simple\n")
        monkeypatch.setenv("PIP_CONFIG_FILE", str(conf))
        monkeypatch.delenv("PIP_NO_INDEX")
        result = cli("pin", lock, "--no-system-packages")
        asked = list(server.requests)
    assert result.code == 2, result
    _one_error_line(result.err)
    assert asked == [], result
    assert f"{server.url}/${{X}}/simple" in result.err and "nothing was read or written" in result.err, result.err
    assert lock.read_bytes() == before


def test_a_private_index_password_goes_to_the_files_it_lists_and_nowhere_else(
    tmp_path: Path, cli: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A lab's index behind basic auth (``PIP_INDEX_URL=http://user:pw@host/simple``) serves its files on the same
    host under another path (``/files/...``), as devpi, Artifactory and Nexus do: pip sends the index's password
    with them, and envsnap must too (it sent it for the project page only, so every file was 401 and nothing pinned).
    The password is never written to the lock or the bundle."""
    wheel, lock = _tinypkg_lock(tmp_path)
    with serving() as server:
        _index_page(server, wheel)
        server.password = "alice:s3cr3t@pw"
        monkeypatch.delenv("PIP_NO_INDEX")
        monkeypatch.setenv("PIP_INDEX_URL", server.url.replace("://", "://alice:s3cr3t%40pw@") + "/simple")
        pinned = cli("pin", lock, "--no-system-packages")
        assert pinned.code == 0 and "not pinned" not in pinned.err, pinned
        assert server.requests == ["/simple/tinypkg/", f"/files/{wheel.name}"] and all(server.authorized)
        bundled = cli("bundle", lock, "-o", tmp_path / "bundle")
        assert bundled.code == 0, bundled
    art = lockfile.load(lock).python.packages[0].artifact
    assert art is not None and art.sha256 == sha256_of(wheel) and art.url == f"{server.url}/files/{wheel.name}"
    written = [lock, *(p for p in (tmp_path / "bundle").rglob("*") if p.is_file())]
    for path in written:
        assert b"s3cr3t" not in path.read_bytes(), path
    assert "s3cr3t" not in pinned.out + pinned.err + bundled.out + bundled.err


@pytest.mark.parametrize("where", ["UV_INDEX", "UV_DEFAULT_INDEX", "uv.toml", "uv.toml with a stale password"])
def test_a_named_uv_index_gets_its_password_from_uv_index_name_password(
    tmp_path: Path, cli: Callable[..., Any], monkeypatch: pytest.MonkeyPatch, isolated: Path, where: str
) -> None:
    """A lab names its private index for uv (``UV_INDEX=lab-mirror.v2=URL`` or ``[[index]] name = ...``) and gives
    its password as uv reads it, in ``UV_INDEX_LAB_MIRROR_V2_USERNAME`` / ``_PASSWORD`` (the name upper-cased, any
    other character ``_``; over a password in the URL). envsnap ignored them: every page was 401 and the hint said
    envsnap does not read them. The password goes to the index's origin and is written nowhere."""
    wheel, lock = _tinypkg_lock(tmp_path)
    unpinned = tmp_path / "unpinned.lock"
    unpinned.write_bytes(lock.read_bytes())
    with serving() as server:
        _index_page(server, wheel)
        server.password = "alice:s3cr3t@pw"
        monkeypatch.delenv("PIP_NO_INDEX")
        monkeypatch.setenv("UV_INDEX_LAB_MIRROR_V2_USERNAME", "alice")
        monkeypatch.setenv("UV_INDEX_LAB_MIRROR_V2_PASSWORD", "s3cr3t@pw")
        url = server.url + "/simple"
        if where.startswith("uv.toml"):
            if where != "uv.toml":
                url = url.replace("://", "://alice:old@")
            (tmp_path / "lab-uv.toml").write_text(f'[[index]]\nname = "lab-mirror.v2"\nurl = "{url}"\ndefault = true\n')
            monkeypatch.delenv("UV_NO_CONFIG")
            monkeypatch.setenv("UV_CONFIG_FILE", str(tmp_path / "lab-uv.toml"))
        else:
            monkeypatch.setenv(where, f"lab-mirror.v2={url}")
        pinned = cli("pin", lock, "--no-system-packages")
        assert pinned.code == 0 and "not pinned" not in pinned.err, pinned
        assert server.requests == ["/simple/tinypkg/", f"/files/{wheel.name}"] and all(server.authorized)
        bundled = cli("bundle", lock, "-o", tmp_path / "bundle")
        assert bundled.code == 0, bundled
        monkeypatch.setenv("UV_INDEX_LAB_MIRROR_V2_PASSWORD", "wr0ngpw")
        refused = cli("pin", unpinned, "--no-system-packages", "-o", tmp_path / "refused.lock")
    art = lockfile.load(lock).python.packages[0].artifact
    assert art is not None and art.sha256 == sha256_of(wheel) and art.index == server.url + "/simple"
    assert (tmp_path / "bundle" / "wheels" / wheel.name).read_bytes() == wheel.read_bytes()
    hint = (
        f"  ({server.url}: the index refused the user and password UV_INDEX_LAB_MIRROR_V2_USERNAME and "
        "UV_INDEX_LAB_MIRROR_V2_PASSWORD give)"
    )
    assert refused.code == 0 and hint in refused.err.splitlines(), refused
    written = [lock, tmp_path / "refused.lock", *(p for p in (tmp_path / "bundle").rglob("*") if p.is_file())]
    for path in written:
        assert b"s3cr3t" not in path.read_bytes() and b"wr0ng" not in path.read_bytes(), path
    said = pinned.out + pinned.err + bundled.out + bundled.err + refused.out + refused.err
    assert "s3cr3t" not in said and "wr0ng" not in said and ":old" not in said


@pytest.mark.parametrize("where", ["UV_INDEX_URL", "UV_DEFAULT_INDEX", "user uv.toml", "UV_CONFIG_FILE"])
def test_pin_and_bundle_use_the_index_uv_is_configured_with(
    tmp_path: Path, cli: Callable[..., Any], monkeypatch: pytest.MonkeyPatch, isolated: Path, where: str
) -> None:
    """A lab whose machines reach packages through a mirror configured for uv (UV_INDEX_URL, ``[[index]]`` in
    ~/.config/uv/uv.toml) and not for pip: envsnap read pip's settings only, asked PyPI, and pinned nothing."""
    wheel, lock = _tinypkg_lock(tmp_path)
    with serving() as server:
        _index_page(server, wheel)
        monkeypatch.delenv("PIP_NO_INDEX")
        monkeypatch.delenv("UV_NO_CONFIG")
        toml = f'[[index]]\nname = "lab"\nurl = "{server.url}/simple"\ndefault = true\n'
        if where == "user uv.toml":
            (isolated / ".config" / "uv").mkdir(parents=True)
            (isolated / ".config" / "uv" / "uv.toml").write_text(toml)
        elif where == "UV_CONFIG_FILE":
            (tmp_path / "lab-uv.toml").write_text(toml)
            monkeypatch.setenv("UV_CONFIG_FILE", str(tmp_path / "lab-uv.toml"))
        else:
            monkeypatch.setenv(where, server.url + "/simple")
        pinned = cli("pin", lock, "--no-system-packages")
        assert pinned.code == 0 and "not pinned" not in pinned.err, pinned
        assert server.requests == ["/simple/tinypkg/", f"/files/{wheel.name}"]
        bundled = cli("bundle", lock, "-o", tmp_path / "bundle")
        assert bundled.code == 0, bundled
    art = lockfile.load(lock).python.packages[0].artifact
    assert art is not None and art.sha256 == sha256_of(wheel) and art.index == server.url + "/simple"
    assert (tmp_path / "bundle" / "wheels" / wheel.name).read_bytes() == wheel.read_bytes()


def test_a_bad_uv_toml_is_one_line_and_exit_2(
    tmp_path: Path, cli: Callable[..., Any], isolated: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _wheel, lock = _tinypkg_lock(tmp_path)
    monkeypatch.delenv("UV_NO_CONFIG")
    user = isolated / ".config" / "uv" / "uv.toml"
    user.parent.mkdir(parents=True)
    user.write_text("index-url = https://unquoted\n")
    result = cli("pin", lock, "--no-system-packages")
    assert result.code == 2, result
    assert f"envsnap: error: {user}: not a valid uv configuration file:" in result.err
    _one_error_line(result.err)


@pytest.mark.parametrize(
    ("userinfo", "said"),
    [
        ("", "the index asks for a password: give it in the index URL (https://USER:PASSWORD@HOST/...)"),
        ("alice:wrong@", "the index refused the user and password its URL gives"),
    ],
)
def test_a_401_from_a_private_index_says_what_to_do(
    tmp_path: Path, cli: Callable[..., Any], monkeypatch: pytest.MonkeyPatch, userinfo: str, said: str
) -> None:
    """pip reads an index's password from ~/.netrc or a keyring too; envsnap does not, and said only 'HTTP 401
    Unauthorized' for every package, so a user whose pip works did not learn what to change."""
    wheel, lock = _tinypkg_lock(tmp_path)
    with serving() as server:
        _index_page(server, wheel)
        server.password = "alice:s3cr3t"
        monkeypatch.delenv("PIP_NO_INDEX")
        monkeypatch.setenv("PIP_INDEX_URL", server.url.replace("://", "://" + userinfo) + "/simple")
        result = cli("bundle", lock, "-o", tmp_path / "bundle")
    assert result.code != 0 and said in result.err, result
    assert ".netrc" in result.err or userinfo
    assert "wrong" not in result.err
    _one_error_line(result.err)


@pytest.mark.parametrize("pinned", [False, True])
def test_a_401_hint_is_said_once_per_index_not_once_per_package(
    tmp_path: Path, cli: Callable[..., Any], monkeypatch: pytest.MonkeyPatch, pinned: bool
) -> None:
    """A lock of 150 packages on a private index with a wrong password printed the hint 150 times, once per
    package, in pin's list, in the bundle's error and in the lock's warnings. Each package still names its 401."""
    refused = "the index refused the user and password its URL gives"
    names = [f"pkg{i}" for i in range(6)]
    with serving() as server:
        server.password = "alice:s3cr3t"
        packages = tuple(
            PythonPackage(
                name,
                "1.0",
                wheel_tags=("py3-none-any",),
                record_digest="sha256:" + "a" * 64,
                artifact=Artifact(f"{name}-1.0-py3-none-any.whl", f"{server.url}/simple/files/{name}.whl", "b" * 64)
                if pinned
                else None,
            )
            for name in names
        )
        lock = tmp_path / "l.lock"
        lockfile.dump(Snapshot(python=PythonEnv(version="3.11.7", packages=packages)), lock)
        monkeypatch.delenv("PIP_NO_INDEX")
        monkeypatch.setenv("PIP_INDEX_URL", server.url.replace("://", "://alice:wrong@") + "/simple")
        bundled = cli("bundle", lock, "-o", tmp_path / "bundle")
        if not pinned:
            said = cli("pin", lock, "--no-system-packages", "-o", tmp_path / "out.lock")
    assert bundled.code != 0 and bundled.err.count(refused) == 1, bundled
    assert bundled.err.count("Unauthorized") == len(names), bundled
    _one_error_line(bundled.err)
    if pinned:
        return
    assert said.code == 0 and said.err.count(refused) == 1, said
    lines = said.err.splitlines()
    assert [line for line in lines if "not pinned" in line and "HTTP 401 Unauthorized" in line] == [
        f"  not pinned {name} 1.0: {server.url}/simple/{name}/: HTTP 401 Unauthorized" for name in names
    ]
    assert f"  ({server.url}: {refused} (check them in PIP_INDEX_URL, pip.conf, UV_INDEX_URL or uv.toml))" in lines
    warnings = lockfile.load(tmp_path / "out.lock").envsnap.warnings
    assert sum(refused in w for w in warnings) == 1 and len(warnings) == len(names) + 1, warnings


@pytest.mark.parametrize("command", ["bundle", "rebuild"])
@pytest.mark.parametrize(
    ("userinfo", "said"),
    [
        ("", "the index asks for a password: give it in the index URL (https://USER:PASSWORD@HOST/...)"),
        ("alice:wrong@", "the index refused the user and password its URL gives"),
    ],
)
def test_a_401_from_the_index_a_refused_lock_url_is_looked_for_on_is_said_with_its_hint(
    tmp_path: Path, cli: Callable[..., Any], monkeypatch: pytest.MonkeyPatch, command: str, userinfo: str, said: str
) -> None:
    """A lock pinned against a lab's index at a private address (``http://10.0.0.1/...``): its URL is refused and the
    file is looked for on the configured index instead, which answered 401. The 401 was dropped: the user read only
    "no configured index lists this file; pass --allow-url", not that the index refused their password."""
    wheel = make_wheel(tmp_path / "build", "tinypkg", "1.0")
    art = Artifact(wheel.name, f"http://10.0.0.1/files/{wheel.name}", sha256_of(wheel))
    pkg = PythonPackage("tinypkg", "1.0", wheel_tags=("py3-none-any",), artifact=art)
    lock = tmp_path / "l.lock"
    lockfile.dump(Snapshot(python=PythonEnv(version="3.11.7", packages=(pkg,))), lock)
    with serving() as server:
        _index_page(server, wheel)
        server.password = "alice:s3cr3t"
        monkeypatch.delenv("PIP_NO_INDEX")
        monkeypatch.setenv("PIP_INDEX_URL", server.url.replace("://", "://" + userinfo) + "/simple")
        if command == "bundle":
            result = cli("bundle", lock, "-o", tmp_path / "bundle")
        else:
            result = cli("rebuild", lock, "--dest", tmp_path / "env", "--force")
    assert result.code == 2, result
    assert "no configured index lists this file" not in result.err, result
    assert f"{server.url}/simple/tinypkg/: HTTP 401 Unauthorized" in result.err, result
    assert result.err.count(said) == 1, result
    assert "wrong" not in result.err
    _one_error_line(result.err)


def test_a_find_links_folder_beside_the_project_is_named_as_the_allow_url_to_pass(
    tmp_path: Path, cli: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A requirements file with ``--find-links ../wheels`` (a folder beside the project, outside it): the lock
    records the folder by its path and bundle refuses to read it until allowed, but said only "pass --allow-url
    PATTERN", and the pattern a user writes for a folder (``DIR/*``) does not allow the folder itself. The
    message now names the value that works, which bundles. The import records the file it found there by its name
    (``filename``), so the pattern of the folder's files allows it too, as for a pylock import's file there; nothing
    allowed, the refusal names the folder, which allows both."""
    wheel = make_wheel(tmp_path / "wheels", "tinypkg", "1.0")
    project = tmp_path / "proj"
    project.mkdir()
    (project / "requirements.txt").write_text(
        f"--find-links ../wheels\ntinypkg==1.0 --hash=sha256:{sha256_of(wheel)}\n"
    )
    monkeypatch.chdir(project)
    assert cli("import", "requirements.txt", "-o", "envsnap.lock").code == 0
    (pkg,) = lockfile.load(project / "envsnap.lock").python.packages
    assert pkg.artifact is not None and pkg.artifact.index == str(tmp_path / "wheels")
    assert pkg.artifact.filename == wheel.name
    refused = cli("bundle", "envsnap.lock", "-o", tmp_path / "bundle")
    assert refused.code == 2, refused  # a lock URL the fetch policy refuses, before anything is fetched
    assert f"pass --allow-url {tmp_path / 'wheels'} to allow it" in refused.err, refused.err
    _one_error_line(refused.err)
    for n, allowed in enumerate((f"{tmp_path / 'wheels'}/*", str(tmp_path / "wheels"))):
        out, cache = tmp_path / f"bundle{n}", tmp_path / f"cache{n}"  # each fetched anew, not from the other's cache
        bundled = cli("bundle", "envsnap.lock", "-o", out, "--allow-url", allowed, "--cache-dir", cache)
        assert bundled.code == 0, bundled
        assert (out / "wheels" / wheel.name).read_bytes() == wheel.read_bytes()


def _advised(text: str) -> set[str]:
    """The ``--allow-url`` patterns a message advises (a path, quoted or not, or a placeholder such as
    ``PATTERN``), each as the shell reads the word pasted."""
    import re

    return {shlex.split(word)[0] for word in re.findall(r"--allow-url ('[^']*'|/[^\s)]*|[A-Z]+\b)", text)}


def test_every_allow_url_advised_for_an_imported_find_links_folder_works_when_pasted(
    tmp_path: Path, cli: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A requirements file with ``--find-links ../wheels`` and two packages there: ``alpha`` with one hash (recorded
    by its file name in the folder) and ``beta`` with two (the folder is listed to choose). ``pin`` advised
    ``'DIR/*'`` for alpha and ``DIR`` for beta, and ``DIR/*`` pasted left beta unpinned; ``bundle`` advised
    "PATTERN ... DIR/* the files of a folder", which lists no folder. Each message now names the folder itself,
    which reads the folder's listing and its files, and pasted as written it pins and bundles both."""
    wheels = tmp_path / "wheels"
    alpha = make_wheel(wheels, "alpha", "1.0")
    beta = make_wheel(wheels, "beta", "2.0")
    project = tmp_path / "proj"
    project.mkdir()
    hashes = f"--hash=sha256:{sha256_of(beta)} --hash=sha256:{'b' * 64}"
    (project / "requirements.txt").write_text(
        f"--find-links ../wheels\nalpha==1.0 --hash=sha256:{sha256_of(alpha)}\nbeta==2.0 {hashes}\n"
    )
    monkeypatch.chdir(project)
    assert cli("import", "requirements.txt", "-o", "envsnap.lock").code == 0
    cache = ("--cache-dir", str(tmp_path / "c"))

    refused = cli("bundle", "envsnap.lock", "-o", tmp_path / "b0", *cache)
    assert refused.code == 2, refused
    _one_error_line(refused.err)
    assert _advised(refused.err) == {str(wheels)}, refused.err

    pinned = cli("pin", "envsnap.lock", "-o", "pinned.lock", "--no-system-packages", *cache)
    assert pinned.code == 0, pinned
    advice = _advised(pinned.out + pinned.err)
    assert advice == {str(wheels)}, pinned.out + pinned.err
    allow = [word for pattern in sorted(advice) for word in ("--allow-url", pattern)]
    again = cli("pin", "envsnap.lock", "-o", "pinned.lock", "--no-system-packages", "--strict", *allow, *cache)
    assert again.code == 0, again
    assert "--allow-url" not in again.out + again.err, again
    bundled = cli("bundle", "pinned.lock", "-o", tmp_path / "b1", *allow, *cache)
    assert bundled.code == 0, bundled
    for wheel in (alpha, beta):
        assert (tmp_path / "b1" / "wheels" / wheel.name).read_bytes() == wheel.read_bytes()
    assert cli("bundle", "envsnap.lock", "-o", tmp_path / "b2", *allow, *cache).code == 0


def test_a_refused_find_links_folder_of_a_package_with_several_hashes_is_named_as_the_allow_url_to_pass(
    tmp_path: Path, cli: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The same folder for a requirement with two ``--hash`` values (its ``candidates``): bundle said only "the
    import kept 2 sha256 hashes, and no index lists tinypkg 1.0", not the --allow-url that reads the folder. Refused
    as the same requirement with one hash is (exit 2: a lock's place the fetch policy refuses), not exit 4."""
    wheel = make_wheel(tmp_path / "wheels", "tinypkg", "1.0")
    project = tmp_path / "proj"
    project.mkdir()
    (project / "requirements.txt").write_text(
        f"--find-links ../wheels\ntinypkg==1.0 --hash=sha256:{sha256_of(wheel)} --hash=sha256:{'b' * 64}\n"
    )
    monkeypatch.chdir(project)
    assert cli("import", "requirements.txt", "-o", "envsnap.lock").code == 0
    (pkg,) = lockfile.load(project / "envsnap.lock").python.packages
    assert len(pkg.candidates) == 2
    refused = cli("bundle", "envsnap.lock", "-o", tmp_path / "bundle")
    assert refused.code == 2, refused
    assert "the import kept 2 sha256 hashes" in refused.err, refused
    assert f"pass --allow-url {tmp_path / 'wheels'} to allow it" in refused.err, refused
    _one_error_line(refused.err)
    bundled = cli("bundle", "envsnap.lock", "-o", tmp_path / "bundle", "--allow-url", str(tmp_path / "wheels"))
    assert bundled.code == 0, bundled
    assert (tmp_path / "bundle" / "wheels" / wheel.name).read_bytes() == wheel.read_bytes()


def test_an_index_password_is_not_sent_to_another_origin(tmp_path: Path) -> None:
    """The index's password goes to its own scheme, host and port: a file it lists on another port (another
    origin) is asked for without it."""
    wheel = make_wheel(tmp_path / "build", "tinypkg", "1.0")
    pkg = PythonPackage("tinypkg", "1.0", wheel_tags=("py3-none-any",), record_digest=wheel_record_digest(str(wheel)))
    with serving() as index, serving() as files:
        files.add(f"/files/{wheel.name}", wheel.read_bytes())
        index.add(
            "/simple/tinypkg/",
            f'<a href="{files.url}/files/{wheel.name}#sha256={sha256_of(wheel)}">{wheel.name}</a>'.encode(),
            "text/html",
        )
        index.password = "alice:s3cr3t"
        config = IndexConfig(index_url=index.url.replace("://", "://alice:s3cr3t@") + "/simple")
        snapshot = Snapshot(python=PythonEnv(version="3.11.7", packages=(pkg,)))
        result = pin(snapshot, config, cache_dir=tmp_path / "c")
        assert all(index.authorized) and files.requests == [f"/files/{wheel.name}"] and files.authorized == [False]
    art = result.snapshot.python.packages[0].artifact
    assert art is not None and art.sha256 == sha256_of(wheel)


def test_a_refused_url_is_found_again_on_the_configured_index(tmp_path: Path) -> None:
    """A lock whose URL the policy refuses still rebuilds when the configured index serves the same file."""
    wheel = make_wheel(tmp_path / "build", "tinypkg", "1.0")
    index = tmp_path / "index"
    (index / "tinypkg").mkdir(parents=True)
    (index / "files").mkdir()
    (index / "files" / wheel.name).write_bytes(wheel.read_bytes())
    (index / "tinypkg" / "index.html").write_text(f'<a href="../files/{wheel.name}">{wheel.name}</a>')
    pinner = Pinner(IndexConfig(index_url=index.as_uri()), tmp_path / "cache")
    path, sha = pinner.fetch_artifact(Artifact(wheel.name, "http://127.0.0.1:9/" + wheel.name, sha256_of(wheel)))
    assert sha == sha256_of(wheel) and path.read_bytes() == wheel.read_bytes()
    with pytest.raises(PinError):  # same name, other content: not this file
        Pinner(IndexConfig(index_url=index.as_uri()), tmp_path / "cache2").fetch_artifact(
            Artifact(wheel.name, "http://127.0.0.1:9/" + wheel.name, "c" * 64)
        )


def test_every_fetcher_names_envsnap_and_its_one_version(tmp_path: Path) -> None:
    """The index reader and the conda downloader send ``envsnap/<version>`` from envsnap/_version.py (both sent a
    bare 'envsnap', a version written nowhere)."""
    from envsnap._version import __version__

    with serving() as server:
        page = server.add("/simple/demo/", b"<html></html>", "text/html")
        archive = server.add("/pkgs/demo-1.0-0.conda", b"not really a conda archive")
        Fetcher().get(page)
        pkg = CondaPackage(name="demo", version="1.0", url=archive, sha256="0" * 64)
        with pytest.raises(RebuildError, match="sha256 mismatch"):  # downloaded, then refused by its hash
            conda_archives.fetch_archive(pkg, tmp_path / "demo-1.0-0.conda", allow_urls=(f"{server.url}/*",))
    assert server.agents == [f"envsnap/{__version__}"] * 2


def _conda_toml(name: str, url: str, sha256: str) -> str:
    return (
        f'[conda]\nsubdir = "noarch"\n\n[[conda.packages]]\nname = "{name}"\nversion = "1"\nbuild = "0"\n'
        f'subdir = "noarch"\nurl = "{url}"\nsha256 = "{sha256}"\n\n'
    )


def test_a_conda_channel_inside_the_project_is_read_from_this_checkout(
    tmp_path: Path, cli: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Capture records a conda package from a channel kept in the project as ``file://{project}/channel/...``, as it
    records a wheel there. pip's files are read from the project's checkout on this machine; the conda archives
    were read from ``{project}/channel/...`` below the working directory: ``--allow-url`` for the channel folder
    was refused, and one for the label said the archive is gone. They now follow the same rule."""
    other = tmp_path / "other checkout"  # another clone of the project, in a folder with a space
    archive = other / "channel" / "noarch" / "x-1-0.conda"
    archive.parent.mkdir(parents=True)
    archive.write_bytes(b"a channel kept in the project")
    subprocess.run(["git", "init", "-q", str(other)], check=True)
    label = "file://{project}/channel/noarch/x-1-0.conda"
    lock = other / "envsnap.lock"
    lock.write_text(lock_text(extra=_conda_toml("x", label, sha256_of(archive))))
    monkeypatch.chdir(other / "channel")  # the project is the git work tree around the working directory
    refused = cli("bundle", lock, "-o", tmp_path / "refused")
    # Named by its path, one shell word (its file: URL read ``other%20checkout``).
    assert refused.code == 2 and f"{shlex.quote(str(archive))} from the lock is not fetched" in refused.err, refused
    _one_error_line(refused.err)
    allow = f"{other}/channel/*"
    bundled = cli("bundle", lock, "-o", tmp_path / "b", "--allow-url", allow)
    assert bundled.code == 0, bundled
    assert (tmp_path / "b" / "conda" / archive.name).read_bytes() == archive.read_bytes()
    assert f'url = "{label}"' in (tmp_path / "b" / "envsnap.lock").read_text()
    got = conda_archives.fetch_all(
        lockfile.load(lock).conda.packages, tmp_path / "cache", by_hash=True, allow_urls=(allow,), project_dir=other
    )
    assert got["x"].read_bytes() == archive.read_bytes()
    archive.unlink()
    gone = cli("bundle", lock, "-o", tmp_path / "b2", "--allow-url", allow, "--project", other)
    assert gone.code != 0 and f"x 1 (0): {label} is gone (no such file {archive})" in gone.err, gone
    _one_error_line(gone.err)
    lock.write_text(lock_text(extra=_conda_toml("x", "file://{project}/../x-1-0.conda", sha256_of(lock))))
    outside = cli("bundle", lock, "-o", tmp_path / "b3", "--allow-url", "file:///*")
    assert outside.code == 2 and "'../x-1-0.conda': not a relative path inside" in outside.err, outside
    _one_error_line(outside.err)


@pytest.mark.parametrize("refused", ["conda archive", "wheel"])
def test_bundle_refuses_every_lock_url_before_fetching_any(
    refused: str, tmp_path: Path, cli: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A conda lock from a local channel (file:// archives): bundle downloaded every wheel first, and only then
    refused the conda URLs. A refused wheel URL came after the other wheels were downloaded too. Now every URL
    the lock names is judged before anything is fetched or copied: the server is asked nothing, no file read."""
    opened = _opened_urls(monkeypatch)
    archive = tmp_path / "channel" / "noarch" / "x-1-0.conda"
    archive.parent.mkdir(parents=True)
    archive.write_bytes(b"a local channel's archive")
    local_wheel = make_wheel(tmp_path / "local", "gamma", "1.0")
    wheels = [make_wheel(tmp_path / "build", name, "1.0") for name in ("alpha", "beta")]
    with serving() as server:
        packages = "".join(
            package_toml(
                name, "1.0", filename=w.name, url=server.add("/" + w.name, w.read_bytes()), sha256=sha256_of(w)
            )
            for name, w in zip(("alpha", "beta"), wheels, strict=True)
        )
        if refused == "wheel":
            url, sha = local_wheel.as_uri(), sha256_of(local_wheel)
            text = lock_text(
                packages=packages + package_toml("gamma", "1.0", filename=local_wheel.name, url=url, sha256=sha)
            )
        else:
            text = lock_text(packages=packages, extra=_conda_toml("x", archive.as_uri(), sha256_of(archive)))
        lock = tmp_path / "l.lock"
        lock.write_text(text)
        result = cli(
            "bundle", lock, "-o", tmp_path / "b", "--cache-dir", tmp_path / "cache", "--allow-url", server.url + "/*"
        )
        assert server.requests == [] and opened == []
    assert result.code == 2, result
    _one_error_line(result.err)
    assert "is not fetched" in result.err and "--allow-url" in result.err, result.err
    assert not (tmp_path / "b").exists() and not list((tmp_path / "cache").rglob("*.whl"))


def test_bundle_refuses_a_refused_local_wheel_whatever_the_download_cache_holds(
    tmp_path: Path, cli: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A lock pinned to ``file:///.../tinypkg-1.0-py3-none-any.whl`` was refused (exit 2) by a bundle without
    ``--allow-url`` on an empty download cache, and bundled once an earlier ``--allow-url`` run had left the
    wheel in the cache under the lock's sha256: the answer depended on the cache. The fetch policy decides alone:
    refused, the same line, whatever the cache holds; allowed, bundled with the cache or without it. Only
    ``--offline``, which fetches nothing, takes the file from the cache by the lock's sha256."""
    import shutil

    monkeypatch.setenv("PIP_CONFIG_FILE", os.devnull)
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    wheel = make_wheel(tmp_path / "wheels", "tinypkg", "1.0")
    digest = sha256_of(wheel)
    lock = tmp_path / "l.lock"
    lock.write_text(
        lock_text(packages=package_toml("tinypkg", "1.0", filename=wheel.name, url=wheel.as_uri(), sha256=digest))
    )
    cache = tmp_path / "cache"
    allow = (tmp_path / "wheels").as_uri() + "/*"

    def bundle(out: str, *extra: str) -> Any:
        return cli("bundle", lock, "-o", tmp_path / out, "--cache-dir", cache, *extra)

    before = bundle("b1")
    allowed = bundle("b2", "--allow-url", allow)
    assert allowed.code == 0, allowed
    assert list(cache.rglob(wheel.name))  # the earlier run left the wheel in the cache
    after = bundle("b3")
    assert (before.code, after.code) == (2, 2), (before, after)
    _one_error_line(after.err)
    assert after.err == before.err and "--allow-url" in after.err, after.err
    # A folder alone matches none of its files: the message says what the pattern matches, in general terms.
    hint = "pass --allow-url PATTERN to allow it: the pattern matches the file's path, DIR/* the files of a folder"
    assert after.err.endswith(f"; {hint}\n"), after.err
    assert digest not in after.err  # the hash of a local file is never shown
    assert not (tmp_path / "b1").exists() and not (tmp_path / "b3").exists()
    offline = bundle("b4", "--offline")
    assert offline.code == 0, offline  # what is here: the cache's file under the lock's sha256
    shutil.rmtree(cache)
    again = bundle("b5", "--allow-url", allow)
    assert again.code == 0, again
    assert (tmp_path / "b5" / "wheels" / wheel.name).read_bytes() == wheel.read_bytes()


def test_a_refused_wheel_installed_by_path_is_bad_input_as_a_refused_pinned_one_is(
    tmp_path: Path, cli: Callable[..., Any]
) -> None:
    """A wheel ``pip install /elsewhere/x.whl`` installed (captured as an archive source, not pinned): bundle said
    "not every package could be pinned", exit 4, where the same wheel pinned by its ``file:`` URL was refused with
    exit 2. One rule: a lock URL the fetch policy refuses is bad input, exit 2, nothing made, whoever reads it."""
    wheel = make_wheel(tmp_path / "elsewhere", "tinypkg", "1.0")
    digest = sha256_of(wheel)
    source = f'kind = "archive"\nurl = "{wheel.as_uri()}"\narchive_hash = "sha256={digest}"'
    archive = tmp_path / "archive.lock"
    archive.write_text(lock_text(packages=package_toml("tinypkg", "1.0", source=source)))
    pinned = tmp_path / "pinned.lock"
    pinned.write_text(
        lock_text(packages=package_toml("tinypkg", "1.0", filename=wheel.name, url=wheel.as_uri(), sha256=digest))
    )
    results = [cli("bundle", lock, "-o", tmp_path / f"b{n}") for n, lock in enumerate((archive, pinned))]
    assert [r.code for r in results] == [2, 2], results
    for n, result in enumerate(results):
        _one_error_line(result.err)
        assert "--allow-url" in result.err and "could be pinned" not in result.err, result.err
        assert not (tmp_path / f"b{n}").exists()
    allowed = cli("bundle", archive, "-o", tmp_path / "b", "--allow-url", (tmp_path / "elsewhere").as_uri() + "/*")
    assert allowed.code == 0, allowed
    assert (tmp_path / "b" / "wheels" / wheel.name).read_bytes() == wheel.read_bytes()


def test_rebuild_of_a_bundle_missing_a_refused_local_wheel_refuses_it_whatever_the_cache_holds(
    tmp_path: Path, cli: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A bundle whose wheel was removed, pinned to a ``file://`` URL: its rebuild copied the wheel from the download
    cache without asking the fetch policy when an earlier ``--allow-url`` run had left it there, and refused it on
    an empty cache. Refused either way now; allowed, fetched."""
    from envsnap.artifacts.bundle import Bundle
    from envsnap.rebuild import venv

    monkeypatch.setenv("PIP_CONFIG_FILE", os.devnull)
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    wheel = make_wheel(tmp_path / "wheels", "tinypkg", "1.0")
    lock = tmp_path / "l.lock"
    lock.write_text(
        lock_text(
            packages=package_toml("tinypkg", "1.0", filename=wheel.name, url=wheel.as_uri(), sha256=sha256_of(wheel))
        )
    )
    allow = (tmp_path / "wheels").as_uri() + "/*"
    made = cli("bundle", lock, "-o", tmp_path / "b", "--allow-url", allow)  # the default cache now holds the wheel
    assert made.code == 0, made
    (tmp_path / "b" / "wheels" / wheel.name).unlink()
    bundle = Bundle(tmp_path / "b")
    packages = list(bundle.lock.python.packages)
    (tmp_path / "spill").mkdir()
    with pytest.raises(RebuildError, match="--allow-url"):
        venv._checked_wheels(packages, bundle, offline=False, spill=tmp_path / "spill")
    assert not list((tmp_path / "spill").iterdir())
    (got,) = venv._checked_wheels(packages, bundle, offline=False, spill=tmp_path / "spill", allow_urls=(allow,))
    assert got.read_bytes() == wheel.read_bytes()


def test_a_refused_local_file_is_named_by_its_path_not_its_percent_encoded_url() -> None:
    """A lock's ``file:///tmp/rv/paper%20%24x/wheels/caf%C3%A9-1.0-py3-none-any.whl`` was refused as
    ``'file:///tmp/rv/paper%20%24x/...caf%C3%A9...'``: the folder, which the user knows as ``/tmp/rv/paper $x``, read
    in percent escapes. A local file or repository is named by its decoded path, one shell word."""
    url = "file:///tmp/rv/paper%20%24x/wheels/caf%C3%A9-1.0-py3-none-any.whl"
    with pytest.raises(FetchRefusedError) as caught:
        FetchPolicy().check(url)
    message = str(caught.value)
    assert "'/tmp/rv/paper $x/wheels/café-1.0-py3-none-any.whl' from the lock is not fetched" in message, message
    assert "%" not in message, message
