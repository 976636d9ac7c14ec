"""One downloader (``artifacts.pin.Fetcher.download``) for wheels, sdists and conda archives: the fetch policy
asked first, the size bounded, the file written beside its target and renamed into place, the hash checked by
the caller. The conda layer had its own (no size bound, no policy check of its own, a fixed partial name);
the same responses now get the same treatment through pin and through the conda fetch (issue 13)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from fetchserver import serving

from envsnap._fetchpolicy import FetchPolicy, FetchRefusedError
from envsnap.artifacts import conda as conda_artifacts
from envsnap.artifacts.pin import DownloadError, Fetcher, IndexConfig, IndexFile, Pinner
from envsnap.errors import PinError, RebuildError
from envsnap.model import CondaPackage

BODY = b"x" * 4096


def test_both_fetchers_download_the_same_file_alike(tmp_path: Path) -> None:
    sha = hashlib.sha256(BODY).hexdigest()
    with serving() as server:
        url = server.add("/pkg-1.0-0.conda", BODY)
        pkg = CondaPackage(name="pkg", version="1.0", build="0", url=url, sha256=sha)
        got = conda_artifacts.fetch_archive(pkg, tmp_path / "conda" / "pkg-1.0-0.conda", allow_urls=(url,))
        pinner = Pinner(IndexConfig(), tmp_path / "cache", allow_urls=(url,))
        cached, digest = pinner.fetch(IndexFile(filename="pkg-1.0-0.conda", url=url, sha256=sha))
    assert got.read_bytes() == cached.read_bytes() == BODY and digest == sha
    assert sorted(p.name for p in got.parent.iterdir()) == ["pkg-1.0-0.conda"]  # no partial file left


def test_a_response_longer_than_expected_is_cut_off_and_leaves_nothing(tmp_path: Path) -> None:
    with serving() as server:
        url = server.add("/big.whl", BODY)
        fetcher = Fetcher(policy=FetchPolicy(allow=(url,)))
        with pytest.raises(DownloadError, match="larger than the 100 bytes expected"):
            fetcher.download(url, tmp_path / "big.whl", checked=True, size=100)
        assert (
            fetcher.download(url, tmp_path / "big.whl", checked=True, size=len(BODY))
            == hashlib.sha256(BODY).hexdigest()
        )
    assert [p.name for p in tmp_path.iterdir()] == ["big.whl"]


def test_the_policy_refuses_before_either_fetcher_reads(tmp_path: Path) -> None:
    with serving() as server:
        url = server.add("/pkg-1.0-0.conda", BODY)
        pkg = CondaPackage(name="pkg", version="1.0", build="0", url=url, sha256="0" * 64)
        with pytest.raises(FetchRefusedError):
            conda_artifacts.fetch_archive(pkg, tmp_path / "pkg-1.0-0.conda")
        with pytest.raises(FetchRefusedError):
            Fetcher().download(url, tmp_path / "x.whl", checked=True)
        assert server.requests == []


def test_a_missing_archive_is_gone_through_both(tmp_path: Path) -> None:
    with serving() as server:
        url = server.url + "/gone-1.0-0.conda"
        pkg = CondaPackage(name="gone", version="1.0", build="0", url=url, sha256="0" * 64)
        with pytest.raises(RebuildError, match=r"is gone \(HTTP 404\)"):
            conda_artifacts.fetch_archive(pkg, tmp_path / "gone-1.0-0.conda", allow_urls=(url,))
        with pytest.raises(PinError, match=r"cannot download \(Not Found\)"):
            Fetcher(policy=FetchPolicy(allow=(url,))).download(url, tmp_path / "gone.whl", checked=True)
    assert list(tmp_path.iterdir()) == []


def test_a_local_file_that_is_a_pipe_is_not_read_by_the_fetcher(tmp_path: Path) -> None:
    """A lock's ``file://{project}/wheels/x.whl`` allowed with ``--allow-url``, where a stranger's supplement left a
    pipe: the fetcher opened it and waited for a writer for ever (SIGTERM did not end the run). A local file is
    read only when it is a regular file now: anything else is one error naming the URL."""
    import os
    import threading

    fifo = tmp_path / "labtool-0.3.1-py3-none-any.whl"
    os.mkfifo(fifo)
    url = fifo.as_uri()
    outcome: list[object] = []

    def download() -> None:
        try:
            outcome.append(Fetcher(policy=FetchPolicy(allow=(url,))).download(url, tmp_path / "x.whl", checked=True))
        except BaseException as exc:  # the test names what it got
            outcome.append(exc)

    worker = threading.Thread(target=download, daemon=True)
    worker.start()
    worker.join(30)
    if worker.is_alive():  # let the blocked open go, so the test ends
        os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
        worker.join(30)
        pytest.fail("the fetcher waited on the pipe")
    assert len(outcome) == 1 and isinstance(outcome[0], DownloadError), outcome
    assert "not a regular file" in str(outcome[0]) and url in str(outcome[0]), outcome
    assert not (tmp_path / "x.whl").exists()
