"""The one-expression forms ``grammar`` accepts first (plain wheel names, plain http(s) URLs) accept nothing the
full checks refuse: on random text near those forms, each predicate answers as its full check does."""

from __future__ import annotations

from hypothesis import find, given, settings
from hypothesis import strategies as st

from envsnap import grammar

# Pieces that reach every branch: the plain forms, and what the full checks refuse or read otherwise.
WHEEL_PARTS = ["demo", "a.b", "a_b", "a__b", "A9", "-", "--", "1.0", "1.0.0", "2!1", "1.0+cu121", "1.0rc1", "0", "1"]
WHEEL_PARTS += ["py3", "py2.py3", "cp311", "3py", "none", "abi3", "any", "linux_x86_64", "win_amd64", "", ".", "_x"]
WHEEL_PARTS += [".whl", ".tar.gz", "\x00", " ", "é", "/", "\\", "x" * 250]
URL_PARTS = ["https", "http", "file", "git+https", "ftp", "HTTPS", ":", "//", "///", "@", "u:p@", "host", "h.example"]
URL_PARTS += [":80", ":x", "[", "]", "[::1]", "/", "/a/b.whl", "?", "?q=1", "#", "#f", "%2F", " ", "\t", "\x7f", "é"]
URL_PARTS += ["\u200e", "x" * 4090]


def joined(parts: list[str], size: int = 9) -> st.SearchStrategy[str]:
    return st.lists(st.sampled_from(parts), max_size=size).map("".join)


# Shaped like the forms: name-version-tag-tag-tag.whl and scheme://host/path, each piece a plain one or a near miss.
NAMES = ["demo", "a.b", "a_b", "A9", "a__b", "", "é", "a-b", "_a", "a."]
VERSIONS = ["1.0", "1.0.0", "10", "2!1", "1.0+cu121", "1.0rc1", "", "1.x", "1" * 19]
TAGS = ["py3", "py2.py3", "cp311", "none", "abi3", "any", "linux_x86_64", "3py", "", "x.", "_x", "A-b", "é"]
WHEELS = st.tuples(
    st.sampled_from(NAMES),
    st.sampled_from(VERSIONS),
    *[st.sampled_from(TAGS)] * 3,
    st.sampled_from([".whl", ".whl", ".WHL", "", ".whl\n"]),
).map(lambda t: "-".join(t[:5]) + t[5])
HOSTS = ["h.example", "u:p@h", "h:80", "h:x", "", "[::1]", "[", "h]", "é", "h h", "%41", "a\tb", "h\x7f"]
PATHS = ["", "/", "/a/b.whl", "?q=1", "#f", "/a b", "/\u200e", "/é", "/" + "x" * 4090]
URLS = st.tuples(
    st.sampled_from(["https", "http", "HTTPS", "file", "git+https", "ftp", ""]),
    st.sampled_from(["://", "://", ":/", ":", ""]),
    st.sampled_from(HOSTS),
    st.sampled_from(PATHS),
).map("".join)


@settings(max_examples=1500, deadline=None, derandomize=True)
@given(st.one_of(WHEELS, joined(WHEEL_PARTS), st.text(max_size=40)))
def test_a_plain_wheel_name_is_what_the_full_check_accepts(text: str) -> None:
    assert grammar.is_distribution_filename(text) == grammar._is_distribution_filename(text)


@settings(max_examples=1500, deadline=None, derandomize=True)
@given(st.one_of(URLS, joined(URL_PARTS), st.text(max_size=40)))
def test_a_plain_url_is_what_the_full_check_accepts(text: str) -> None:
    for schemes in (grammar.URL_SCHEMES, grammar.LOCK_URL_SCHEMES, frozenset({"file"}), frozenset({"https"})):
        assert grammar.is_url(text, schemes) == grammar._is_url(text, schemes)


def test_the_plain_forms_are_taken() -> None:
    """The forms most of a lock holds answer without the full checks."""
    assert grammar._PLAIN_WHEEL.fullmatch("torch-2.4.0-cp311-cp311-manylinux_2_17_x86_64.whl")
    assert grammar._PLAIN_WHEEL.fullmatch("six-1.17.0-py2.py3-none-any.whl")
    assert grammar._PLAIN_HTTP_URL.fullmatch("https://files.example.org/packages/ab/cd/six-1.17.0-py2.py3-none-any.whl")
    assert not grammar.is_url("https://files.example.org/x", frozenset({"http"}))


def test_the_shaped_strategies_reach_the_plain_forms() -> None:
    """The random text above holds the plain forms, not only near misses of them."""
    assert grammar._PLAIN_WHEEL.fullmatch(find(WHEELS, grammar._PLAIN_WHEEL.fullmatch))
    assert grammar._PLAIN_HTTP_URL.fullmatch(find(URLS, grammar._PLAIN_HTTP_URL.fullmatch))


HEX_PARTS = ["0123456789abcdef" * 4, "a" * 63, "A" * 64, "sha256:", "sha256", ":", "g", "é", "\n", " ", "0" * 64]
DIGESTS = st.lists(st.one_of(joined(HEX_PARTS, 4), st.text(alphabet="0123456789abcdefABsha:\n", max_size=72)))


@settings(max_examples=1500, deadline=None, derandomize=True)
@given(DIGESTS)
def test_a_column_of_digests_is_taken_as_each_value_is(values: list[str]) -> None:
    """The digest columns are tested at once on their joined text: the verdict of one match per value."""
    for predicate in (grammar.is_sha256_hex, grammar.is_sha256_digest, grammar.is_image_digest):
        column = grammar.all_of(predicate)
        assert column is not None
        assert column(values) == all(map(predicate, values)), (predicate.__name__, values)
        # the columns of a real lock, where the verdict is True
        plain = [("sha256:" if predicate is not grammar.is_sha256_hex else "") + "ab" * 32 for _ in values]
        assert column(plain) is True


def test_a_version_too_long_to_compare_is_refused_not_a_traceback(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """A package version of 4,301 digits passed the grammar (PEP 440 sets no length) and ended check, show,
    verify and fleet in a traceback: packaging's Version converts it with int(), past Python's digit limit."""
    from testutil import sample_lock, sample_python

    from envsnap import lockfile
    from envsnap.cli import main
    from envsnap.errors import LockfileError
    from envsnap.model import PythonPackage

    assert not grammar.is_version("1" * 4301) and not grammar.is_pep440("1" * 4301)
    assert not grammar.is_version("1." + "2" * 300) and grammar.is_version("1." + "2" * 200)
    locked = sample_lock(python=sample_python(packages=(PythonPackage(name="six", version="1.16.0"),)))
    text = lockfile.dumps(locked).replace('version = "1.16.0"', 'version = "' + "1" * 4301 + '"', 1)
    assert "1" * 4301 in text
    with __import__("pytest").raises(LockfileError, match="at most 255 characters"):
        lockfile.loads(text, check_digest=False)
    lock = tmp_path / "v.lock"
    lock.write_text(text)
    assert main(["show", str(lock)]) == 2


def test_a_file_url_has_a_host_alone_or_none() -> None:
    """``file://https://conda.anaconda.org/...`` (a URL pasted after ``file://``) has the host ``https:``: it was a
    channel and a URL a lock recorded. A file URL's authority is a host or none (RFC 8089), no port or login."""
    for text in ("file://https://conda.anaconda.org/conda-forge", "file://h:80/x", "file://u@h/x", "git+file://h:/r"):
        assert not grammar.is_url(text)
        assert not grammar.is_lock_url(text)
        assert not grammar.is_conda_channel(text)
    for text in ("file:///srv/ch", "file://localhost/srv/ch", "file:///srv/r@v1", "git+file:///srv/repo@abc"):
        assert grammar.is_url(text)
        assert grammar.is_conda_channel(text)
