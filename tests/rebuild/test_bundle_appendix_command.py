"""The commands a bundle's appendix prints are the ones that work from the unpacked bundle's folder: its rebuild
line said ``envsnap rebuild envsnap.lock``, which did not use the bundled wheels (it fetched each from its URL,
refused offline or for a local index), where ``--bundle . --offline`` rebuilds from them."""

from __future__ import annotations

import re
import shlex
from collections.abc import Callable
from pathlib import Path
from typing import Any

import offline_wheels
import pytest
from testutil import tex_typed, uv_bin


def _commands(text: str) -> list[list[str]]:
    """The shell lines of the appendix's ``sh`` blocks, as words (a trailing comment dropped)."""
    blocks = re.findall(r"```sh\n(.*?)```", text, flags=re.S)
    return [shlex.split(line, comments=True) for block in blocks for line in block.splitlines() if line.strip()]


def test_the_rebuild_command_a_bundles_appendix_prints_rebuilds_from_its_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cli: Callable[..., Any]
) -> None:
    uv = uv_bin()
    if uv is None:
        pytest.skip("uv is not installed")
    monkeypatch.delenv("ENVSNAP_NO_UV", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    monkeypatch.setenv("UV_CACHE_DIR", str(tmp_path / "uv-cache"))
    made = offline_wheels.wheel(tmp_path / "wheels", "appendixpkg", "1.0")
    _, bundle, _ = offline_wheels.locked_bundle(uv, tmp_path, {"appendixpkg": made})
    rebuilds = [words for words in _commands((bundle / "appendix.md").read_text()) if words[1:2] == ["rebuild"]]
    expected = ["envsnap", "rebuild", "envsnap.lock", "--bundle", ".", "--offline", "--dest", "../envsnap-env"]
    assert rebuilds == [expected]
    tex = tex_typed((bundle / "appendix.tex").read_text())
    assert "\\texttt{" + shlex.join(rebuilds[0]) + "}" in tex, tex
    monkeypatch.chdir(bundle)
    result = cli(*rebuilds[0][1:])
    assert result.code == 0, result
    assert "identical" in result.out, result
    assert (tmp_path / "envsnap-env" / "bin" / "python").exists()
