"""A bundle made again into its folder without ``--with-base-image``, which an earlier run gave a saved base image
(``images/``) and envsnap's wheels (``tool/``): they stay, and the README says so.

Offline: the wheel is made here, the bundle from a file:// index; the image is a stand-in file (no engine).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from offline_wheels import locked_bundle, wheel
from testutil import uv_bin

from envsnap import lockfile
from envsnap.artifacts.bundle import HOLDINGS, Bundle, BundleOptions, describe_bundle, make_bundle, open_bundle
from envsnap.artifacts.pin import IndexConfig


def test_a_bundle_made_again_without_with_base_image_still_says_what_it_holds(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The re-run rewrote the README without its "What this bundle holds" section, though ``images/`` and
    ``tool/`` were still there: a reader (or a depositor) learnt nothing of the gigabytes of image it carries."""
    uv = uv_bin()
    if uv is None:
        pytest.skip("uv is not installed")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    monkeypatch.setenv("UV_CACHE_DIR", str(tmp_path / "uv-cache"))
    lock_path, bundle, _ = locked_bundle(uv, tmp_path, {"labpkg": wheel(tmp_path / "wheels", "labpkg", "0.3.0")})
    # What ``add_docker_base`` leaves (``bundle --with-base-image``): the image, envsnap's wheel, the section.
    (bundle / "images").mkdir()
    (bundle / "images" / "base.tar").write_bytes(b"i" * 3000)
    (bundle / "tool").mkdir()
    (bundle / "tool" / "envsnap-0.1.0-py3-none-any.whl").write_bytes(b"t" * 1000)
    describe_bundle(bundle)
    Bundle(bundle).write_sums()
    options = BundleOptions(config=IndexConfig(index_url=(tmp_path / "index" / "simple").as_uri()))
    make_bundle(lockfile.load(lock_path), bundle, options)
    text = (bundle / "README.md").read_text()
    assert text.count(HOLDINGS) == 1, text
    assert "| `images/` | saved container images | 1 | 3 KiB |" in text, text
    assert "| `tool/` | envsnap's own wheels for the image | 1 | 1 KiB |" in text, text
    open_bundle(bundle, tmp_path / "unused")  # its SHA256SUMS check passes
