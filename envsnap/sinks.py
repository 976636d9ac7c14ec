"""Writing a lock's values into other languages: one function per sink and position.

A value from a lock (or a bundle, or an imported file) is untrusted (docs/security.md). Wherever one is
written into a Dockerfile, a shell command, a requirements file, YAML, Markdown, LaTeX or a line-based
file, it goes through one of these: each either quotes the value for its position or refuses it with
``UnsafeValue`` (a ``GrammarError``: the message names what was expected and shows the value escaped). The
lockfile loader validates every field too; these hold on their own, for a ``Snapshot`` built any other way.
The Jinja filters of ``_templates`` are these functions. The terminal's rule is ``grammar.strip_control``.
"""

from __future__ import annotations

import contextlib
import itertools
import re
import shlex
from collections.abc import Iterable, Iterator

from . import grammar
from .errors import EnvsnapError
from .grammar import GrammarError, has_control, shown, strip_control, strip_terminal

TYPE_CHECKING = False
if TYPE_CHECKING:
    from ._lazyre import LazyPattern


class UnsafeValue(GrammarError):
    """A lock value cannot be written safely into this position (a newline into a Dockerfile, ...)."""


def _no_control(text: str, where: str) -> str:
    if has_control(text):
        raise UnsafeValue(f"a control character (newline, escape) in {where}: {shown(text)}")
    return text


@contextlib.contextmanager
def refusing(error: type[EnvsnapError], what: str) -> Iterator[None]:
    """Turn ``UnsafeValue`` (or any ``GrammarError``) raised inside the block into ``error`` (one line)."""
    try:
        yield
    except GrammarError as exc:
        raise error(f"{what}: refused a value of the lock: {exc}") from None


# ------------------------------------------------------------------------------------- line-based text


def one_line(text: object) -> str:
    """Text for a comment or a field of a line-based file: control characters (newlines) made visible."""
    return strip_control(str(text))


# -------------------------------------------------------------------------------------------- Dockerfile

# distribution/reference's grammar: [domain[:port]/]path[:tag][@sha256:hex]; a digest only as sha256.
_DOMAIN_PART = r"(?:[A-Za-z0-9]|[A-Za-z0-9][A-Za-z0-9-]*[A-Za-z0-9])"
_PATH_PART = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_IMAGE_REFERENCE = re.compile(
    rf"(?:{_DOMAIN_PART}(?:\.{_DOMAIN_PART})*(?::[0-9]+)?/)?{_PATH_PART}(?:/{_PATH_PART})*"
    r"(?::[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?(?:@sha256:[0-9a-f]{64})?",
    re.ASCII,
)


def is_image_reference(text: str) -> bool:
    return len(text) <= 512 and _IMAGE_REFERENCE.fullmatch(text) is not None


def dockerfile_from(text: str) -> str:
    """What ``FROM`` may name: an image reference (``name[:tag][@sha256:...]``) or an image id."""
    if grammar.is_image_digest(text) or is_image_reference(text):
        return text
    raise UnsafeValue(f"not an image reference or sha256 image id for FROM: {shown(text)}")


def dockerfile_label(text: str) -> str:
    """A ``LABEL`` value, double-quoted: the escapes Docker's word parser honours inside quotes (``\\``,
    ``"``, ``$``, so nothing expands) and no control character (a newline would end the instruction)."""
    _no_control(text, "a Dockerfile LABEL")
    return '"' + re.sub(r'([\\"$])', r"\\\1", text) + '"'


def dockerfile_line(text: object) -> str:
    """The default for any value on a Dockerfile line: refused when it holds a newline or other control
    character, which would end the instruction (or comment) and start one the lock chose."""
    return _no_control(str(text), "a Dockerfile line")


# ------------------------------------------------------------------------------------------------- shell


def shell_word(text: str) -> str:
    """One shell word, quoted only where needed (``shlex.quote``); no control character."""
    return shlex.quote(_no_control(text, "a shell command"))


def shell_single(text: str) -> str:
    """One shell word, always single-quoted (apt specs hold ``*``); no control character."""
    return "'" + _no_control(text, "a shell command").replace("'", "'\"'\"'") + "'"


def shell_double(text: str) -> str:
    """Text inside a double-quoted shell word: ``$``, backquote, ``"`` and ``\\`` escaped; ``!`` (history
    expansion in an interactive shell) and control characters refused."""
    _no_control(text, "a shell command")
    if "!" in text:
        raise UnsafeValue(f"a '!' in a double-quoted shell word: {shown(text)}")
    return re.sub(r'([\\"$`])', r"\\\1", text)


def docker_bind(source: str, target: str, *, readonly: bool) -> str:
    """The value of ``docker run --mount`` for a bind mount of ``source`` at ``target``: a CSV record, so each
    field holding ``,`` or ``"`` is quoted (``"source=/a,b"``, a quote doubled) and a path cannot add a field
    (``,readonly=false``); no control character (docker's CSV reader drops a carriage return)."""

    def csv_field(text: str) -> str:
        _no_control(text, "a docker mount")
        return '"' + text.replace('"', '""') + '"' if any(c in text for c in ',"') else text

    fields = ["type=bind", csv_field("source=" + source), csv_field("target=" + target)]
    return ",".join([*fields, "readonly"] if readonly else fields)


def _unshowable(char: str) -> bool:
    """A character a terminal would act on (control), reorder (bidirectional formatting), break the line at
    (U+2028, U+2029) or cannot print (a lone surrogate, from undecodable bytes): ``grammar``'s terminal rules."""
    return has_control(char) or grammar.has_bidi(char) or char in "\u2028\u2029" or "\ud800" <= char <= "\udfff"


def _ansi_c_char(c: str) -> str:
    if c in "\\'":
        return "\\" + c
    if not _unshowable(c):
        return c
    if "\udc80" <= c <= "\udcff":  # a byte that is not UTF-8 (os.fsdecode's escape): bash's \xNN is that byte
        return f"\\x{ord(c) - 0xDC00:02x}"
    # \xNN is a byte to bash: a character past ASCII (a C1 control) is \uXXXX, its UTF-8, so no two words show the same.
    return f"\\x{ord(c):02x}" if ord(c) < 0x80 else f"\\u{ord(c):04x}"


def shell_shown(argv: Iterable[str]) -> str:
    """A command as a person confirming it must see it: ``shlex.join``, except that a word holding a control,
    bidirectional formatting or lone surrogate character is written in bash's ``$'...'`` quoting with
    ``\\xNN`` / ``\\uXXXX`` escapes. Two different commands never show the same; nothing in it acts on the
    terminal or reorders the line."""
    return " ".join(
        "$'" + "".join(map(_ansi_c_char, word)) + "'" if any(map(_unshowable, word)) else shlex.quote(word)
        for word in argv
    )


def place_shown(url: str) -> str:
    """A place a lock names, as a message shows it: a ``file:`` URL by its decoded path, one shell word (``path_shown``:
    a label left bare), since its URL read ``paper%20%24x``, ``caf%C3%A9`` for the folder the user knows as ``paper
    $x``, ``café``; any other URL as it is."""
    from .fileurls import decoded_path, is_file_url

    return path_shown(decoded_path(url)) if is_file_url(url) else url


def editable_install(installer: str, url: str, folder: str = "") -> str:
    """The command that installs a project a lock records editable as locked (``INSTALLER --no-deps -e FOLDER``), as a
    note gives it, with what follows it: ``folder``, one shell word the caller made of the folder; without one, ``DIR``
    stands in it and the lock's ``url`` says which folder DIR is. rebuild's plan note and verify's warning say it."""
    if folder:
        return f"`{installer} --no-deps -e {folder}`"
    return f"`{installer} --no-deps -e DIR`, DIR its project folder ({one_line(url)}),"


def recorded_folder(url: str, subdirectory: str = "") -> str:
    """The folder a lock's ``file:`` URL records (``subdirectory`` joined to it), as one shell word, read from the lock
    alone (nothing is looked up): an absolute path quoted, one in the home as ``"$HOME"'/my lib'``, which the shell
    expands; "" for a folder named by another label (``{project}``), which only the caller can read, or no file: URL."""
    from .fileurls import HOME, decoded_path, is_file_url

    if not is_file_url(url):
        return ""
    path = decoded_path(url)
    if subdirectory:
        path = path.rstrip("/") + "/" + subdirectory.strip("/")
    if path == HOME or path.startswith(HOME + "/"):
        tail = path[len(HOME) :]
        return '"$HOME"' + (shell_shown([tail]) if tail else "")
    return shell_shown([path]) if path.startswith("/") else ""


def path_shown(path: str) -> str:
    """A path envsnap names (a run's output, a folder it made) as one shell word, as ``shell_shown`` writes a word: a
    leading label (``{project}``, ``{prefix}``, ``~``) is left bare before the quoted rest (``~/'out dir'``, which a
    shell still expands; ``'~/out dir'`` it would not), so the same path reads the same on every line that names it."""
    from .fileurls import LABELS

    for label in LABELS:
        if path == label:
            return label
        if path.startswith(label + "/"):
            rest = path[len(label) + 1 :]
            return f"{label}/{shell_shown([rest])}" if rest else f"{label}/"
    return shell_shown([path])


def paths_shown(patterns: Iterable[LazyPattern], text: str) -> str:
    """``text`` with each path the first of ``patterns`` that matches it names (its named groups, in the order they
    stand; one that matched nothing skipped) as one shell word (``path_shown``); ``text`` as it is where none
    matches. Capture's warnings (``probes.python.warning_shown``) and verify's notes of a ``.pth`` folder
    (``compare.verdict.pth_note_shown``) are shown by it, so the same path reads the same in both."""
    for pattern in patterns:
        matched = pattern.match(text)
        if matched is not None:
            out, at = [], 0
            for group in sorted(matched.re.groupindex, key=matched.re.groupindex.__getitem__):
                if matched[group] is None:
                    continue
                start, end = matched.span(group)
                out += [text[at:start], path_shown(matched[group])]
                at = end
            return "".join([*out, text[at:]])
    return text


def shell_assignment(name: str, value: str) -> str:
    """``NAME=VALUE`` as a reader types it before a command: the name bare (a quoted ``'NAME=VALUE'`` is no
    assignment, a shell runs it as a command) and the value quoted as ``shell_shown`` quotes a word."""
    grammar.require(grammar.is_env_name(name), "variable name (letters, digits and _, no digit first)", name)
    return f"{name}={shell_shown([value])}"


# ----------------------------------------------------------------------------------- requirements files


def requirement_name(name: str) -> str:
    return grammar.require(grammar.is_project_name(name), "project name for a requirements file", name)


def requirement_version(version: str) -> str:
    """A version after ``==``: PEP 440 only (a legacy version never reaches a requirements file)."""
    return grammar.require(grammar.is_pep440(version), "PEP 440 version for a requirements file", version)


_HASHES = frozenset({"md5", "sha1", "sha224", "sha256", "sha384", "sha512"})


def requirement_hash(algorithm: str, value: str) -> str:
    """``--hash=algo:hex``: a hashlib name pip knows and hex digits."""
    ok = algorithm in _HASHES and re.fullmatch(r"[0-9a-f]{32,128}", value, re.ASCII)
    return f"--hash={grammar.require(bool(ok), 'hash for a requirements file', f'{algorithm}:{value}')}"


# What pip reads in a requirements file before the line's own syntax: a ``${NAME}`` (``grammar.pip_variable``); and the
# file is split with ``str.splitlines``, which also ends a line at U+2028 and U+2029.
_LINE_SEPARATORS = re.compile(r"[\u2028\u2029]")


def _pip_reads_as_written(text: str) -> bool:
    """No control character, no line separator and no ``${NAME}``: a value pip reads as it is written (a lock's
    URL ``https://host/${AWS_SECRET_ACCESS_KEY}/simple`` would send the installer's secret to that host)."""
    return not has_control(text) and not grammar.pip_variable(text) and _LINE_SEPARATORS.search(text) is None


def requirement_url(url: str) -> str:
    """A URL in a requirements file (``name @ URL``, ``--index-url URL``): no whitespace or control character,
    so it can neither end the line nor add an option, and nothing pip would replace (``${NAME}``)."""
    return grammar.require(grammar.is_url(url) and _pip_reads_as_written(url), "URL for a requirements file", url)


def requirement_option_url(url: str) -> str:
    """An index URL after ``--index-url`` or ``--extra-index-url``: ``requirement_url``, shell-quoted, because pip
    splits an option line with ``shlex`` (``--index-url https://h/a'b'c`` sent pip to ``https://h/abc``, and a
    ``"`` in the URL stopped it: "Could not split options"). A plain URL stays unquoted."""
    return shlex.quote(requirement_url(url))


def pip_reads_extras(path: str) -> bool:
    """Whether pip reads the end of ``path`` as extras (``./a[b]``: the folder ``./a`` with the extra ``b``), as it
    does for a path on a requirements line or a command line (``_strip_extras``: ``(.+)(\\[[^\\]]+\\])$``)."""
    return re.search(r".\[[^\]]+\]\Z", path, re.DOTALL) is not None


def requirement_path(text: str) -> str:
    """A local path in a requirements file (``-e PATH``): no whitespace, no control character, no ``${NAME}``, and
    no ``[...]`` at its end, which pip reads as extras (``pip_reads_extras``)."""
    ok = bool(text) and _pip_reads_as_written(text) and not any(c.isspace() for c in text)
    return grammar.require(
        ok and not pip_reads_extras(text), "path for a requirements file (no [...] at its end)", text
    )


def requirement_folder(text: str, *, editable: bool) -> str:
    """A local project's folder as a requirements file's line (conda's ``pip:`` list, which conda hands to pip in a
    requirements file). A plain ``PATH``: read to the first word after a space that begins with ``-`` (pip's
    ``break_args_options``) and cut at a ``;`` (a marker), never unquoted, so written as it is (``./my proj``, which
    uv reads alike) where none of that applies. Either way no control character, line separator or ``${NAME}``, no
    ``#`` after a space (pip cuts a comment off before it reads the line), no space at either end (pip strips the
    line) and no backslash at the end (it joins the next line); a space is the one whitespace kept. A folder ending in
    ``[...]``, which pip reads as extras (``pip_reads_extras``), is refused (pip cuts the extras off before it reads
    the path, whatever follows).

    ``-e PATH``: an option, whose value pip splits as a shell does (``shlex``) and uv does not (``-e './my proj'``
    sent uv to the folder ``'./my proj'``): a word that needs no quoting as it is (a ``[...]`` at its end followed
    by a ``/``, which pip and uv read as the folder), any other folder as its ``file:`` URL, every character but
    ``/`` and the unreserved ones percent-encoded (``-e file:./my%20proj``), which both read as the folder, relative
    to the folder they run in, and in which no shell, comment, marker or extras syntax is left."""
    spaces = any(c.isspace() and c != " " for c in text) or text != text.strip() or re.search(r"\s#", text)
    ok = bool(text) and _pip_reads_as_written(text) and not spaces and not text.endswith("\\")
    if editable:
        folder = grammar.require(bool(text) and _pip_reads_as_written(text), "folder for a requirements file", text)
        word = folder + "/" if pip_reads_extras(folder) else folder
        if ok and _shlex_plain(word):
            return "-e " + word
        from urllib.parse import quote

        return "-e file:" + ("//" if folder.startswith("/") else "") + quote(folder, safe="/")
    ok = ok and " -" not in text and ";" not in text and not text.startswith("-") and not pip_reads_extras(text)
    return grammar.require(ok, "folder for a requirements file", text)


def _shlex_plain(text: str) -> bool:
    """Whether ``shlex.split`` reads ``text`` back as the one word it is, unquoted (``./pkgs/café``)."""
    try:
        return shlex.split(text) == [text]
    except ValueError:  # an unclosed quote
        return False


def requirement_location(text: str) -> str:
    """A ``--find-links`` folder or page: shell-quoted as pip's option parser reads it; no control character or
    line separator (pip splits the file into lines before it reads quotes), no ``${NAME}``, and no ``#`` after
    whitespace (pip cuts such a comment off every line before it reads quotes: the rest would not parse)."""
    ok = bool(text) and _pip_reads_as_written(text) and re.search(r"\s#", text) is None
    return shlex.quote(grammar.require(ok, "find-links location", text))


def requirement_pin(name: str, version: str, sha256: str) -> str:
    """``name==version --hash=sha256:hex``, each part checked."""
    return f"{requirement_name(name)}=={requirement_version(version)} {requirement_hash('sha256', sha256)}"


def _wheel_base_name(filename: str) -> str:
    """A wheel's base name as a requirements line may name it: the characters a wheel file name has (no space,
    ``#``, ``%``, ``$`` or separator), ending ``.whl``."""
    ok = re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._+!-]{0,250}\.whl", filename, re.ASCII) is not None
    return grammar.require(ok and grammar.is_distribution_filename(filename), "wheel file name", filename)


def requirement_wheel_path(folder: str, filename: str, sha256: str) -> str:
    """``./FOLDER/F.whl --hash=sha256:hex``: a wheel installed by its file, a path pip resolves against the folder
    it runs in (not the file's), so that it writes a PEP 610 direct_url.json naming the file and its sha256.
    ``folder``: a constant of envsnap's (``wheels``), never a lock's value."""
    return f"./{folder}/{_wheel_base_name(filename)} {requirement_hash('sha256', sha256)}"


def requirement_wheel_url(name: str, folder_url: str, filename: str, sha256: str) -> str:
    """``name @ FOLDER_URL/F.whl#sha256=hex --hash=sha256:hex``: a wheel installed by its ``file:`` URL, which uv
    records in direct_url.json with the hash in its fragment (pip in ``archive_info``). ``folder_url``: a
    constant of envsnap's (the image's wheel folder), never a lock's value."""
    hashed = requirement_hash("sha256", sha256)
    url = requirement_url(f"{folder_url}/{_wheel_base_name(filename)}#sha256={sha256}")
    return f"{requirement_name(name)} @ {url} {hashed}"


def requirement_fragment(text: str, *, argument: bool = False) -> str:
    """A ``#subdirectory=`` value, written as it is: pip (``[#&]subdirectory=([^&]*)``) and uv read the fragment as
    written, never percent-decoded (``a%20b`` names the folder ``a%20b``), so no encoding can carry a character they
    would read otherwise. Refused: an ``&`` (both stop the folder there: ``a&b`` built the folder ``a``), a ``#``
    (another fragment: ``#egg=``), whitespace (it ends a ``name @ URL`` requirement; ``argument``: the URL is a
    command line's word of its own, ``pip install 'git+URL#subdirectory=a b'``, which pip reads to its end, so a
    plain space is kept), a control character and ``${NAME}``. ``%`` and ``+`` stay as they are, as pip reads them."""
    spaces = any(c.isspace() and not (argument and c == " ") for c in text)
    ok = bool(text) and _pip_reads_as_written(text) and not spaces and "&" not in text and "#" not in text
    return grammar.require(ok, "subdirectory for a pip requirement", text)


def marker_value(text: str) -> str:
    """A value inside a quoted PEP 508 marker string (``platform_machine == 'x86_64'``): a plain word, so no
    quote can end the string and add a clause."""
    ok = re.fullmatch(r"[A-Za-z0-9_.+-]{1,64}", text, re.ASCII) is not None
    return grammar.require(ok, "environment marker value", text)


# ------------------------------------------------------------------------------------------------ SBOM


def sbom_uri(text: str) -> str:
    """A URL as CycloneDX's ``xs:anyURI`` holds it: every ``%`` starts a two-hex-digit escape, and at most one ``#``
    (cyclonedx-python-lib refuses anything else with its own exception, which was a traceback)."""
    ok = re.search(r"%(?![0-9A-Fa-f]{2})|#.*#", text, re.DOTALL) is None
    return grammar.require(ok, "URI for an SBOM (a '%' without two hex digits, or a second '#')", text)


# -------------------------------------------------------------------------------------------- conda files


def conda_url_line(url: str, md5: str, sha256: str) -> str:
    """One ``@EXPLICIT`` line: ``URL#md5`` (or ``URL#sha256:hex``): the URL has no fragment of its own, no
    whitespace, no control character; the hashes are hex."""
    grammar.require(grammar.is_url(url) and "#" not in url, "conda package URL", url)
    if md5:
        return f"{url}#{grammar.require(grammar.is_md5_hex(md5), 'md5', md5)}"
    if sha256:
        return f"{url}#sha256:{grammar.require(grammar.is_sha256_hex(sha256), 'sha256', sha256)}"
    return url


# What ``posixpath.expandvars`` replaces: ``$NAME`` and ``${...}``.
_SHELL_EXPANDED = re.compile(r"\$(\w|\{)")


def conda_lock_url(url: str) -> str:
    """A conda package's ``url`` in ``conda-lock.yml``: an ``@EXPLICIT`` line's URL (``conda_url_line``) that holds
    nothing ``conda-lock install`` fills in: it puts each URL through ``expandvars`` before conda fetches it, so a
    lock's ``https://host/${AWS_SECRET_ACCESS_KEY}/x.conda`` (or ``$HOME``) would send that variable to the host."""
    conda_url_line(url, "", "")
    return grammar.require(_SHELL_EXPANDED.search(url) is None, "conda package URL for conda-lock", url)


def conda_pip_line(name: str, url: str, sha256: str) -> str:
    """``NAME @ URL#sha256=HEX``: an ``@EXPLICIT`` file's ``# pip`` line as conda-lock renders it, which ``conda-lock
    install`` hands to pip as it is. A project name, a URL pip reads as written (no whitespace, control character,
    line separator or ``${NAME}``) with no fragment of its own (the hash is the fragment), the sha256 hex."""
    requirement_name(name)
    ok = grammar.is_url(url) and _pip_reads_as_written(url) and "#" not in url
    grammar.require(ok, "URL for a '# pip' line", url)
    return f"{name} @ {url}#sha256={grammar.require(grammar.is_sha256_hex(sha256), 'sha256', sha256)}"


def conda_pip_direct_line(name: str, url: str) -> str:
    """``NAME @ URL``: the ``# pip`` line conda-lock renders for a folder or a git commit it locked (no hash: the
    folder or the commit is the file). The same checks as ``conda_pip_line``'s URL: pip reads it as written."""
    requirement_name(name)
    ok = grammar.is_url(url) and _pip_reads_as_written(url) and "#" not in url
    return f"{name} @ {grammar.require(ok, 'URL for a # pip line', url)}"


def conda_pin(channel: str, name: str, version: str, build: str) -> str:
    """``[CHANNEL::]NAME=VERSION=BUILD``, an exact MatchSpec (environment.yml): each part by the lock's rule, so none
    holds an operator (``*``, ``>=``, ``|``, ``=``, a space) that would make the pin a range (``zlib=1.*=h0_0``).
    ``channel``: ``purls.channel_name``'s, a channel's name or its URL; "" for none."""
    grammar.require(grammar.is_conda_name(name), "conda package name", name)
    grammar.require(grammar.is_conda_version(version), "conda version (no MatchSpec operator)", version)
    grammar.require(grammar.is_conda_build(build), "conda build string", build)
    if not channel:
        return f"{name}={version}={build}"
    ok = grammar.is_conda_channel(channel) and "::" not in channel
    return f"{grammar.require(ok, 'conda channel', channel)}::{name}={version}={build}"


def conda_subdir(text: str) -> str:
    return grammar.require(grammar.is_conda_subdir(text), "conda subdir", text)


# ---------------------------------------------------------------------------------------------- Markdown

_MD_SPECIAL = re.compile(r"([\\`*_~$|<>\[\]&])")


def md_text(text: object) -> str:
    """Text inside a Markdown paragraph or table cell: no line break (no heading, list or table row can
    start), and the characters that make emphasis, strikethrough (GitHub's ``~x~``), math (GitHub's ``$x$``),
    code, links, HTML, character references (``&#x202e;`` is U+202E to Markdown) and table cells backslash-escaped.
    Bidirectional formatting characters and U+2028/U+2029 are shown as U+FFFD, as on a terminal: a viewer
    would show the row reordered, an editor break the line."""
    return _MD_SPECIAL.sub(r"\\\1", strip_terminal(str(text)))


def md_fenced_line(text: str) -> str:
    """A line inside a fenced code block, as it is (nothing in a code block is Markdown): no control character (a
    line break would start a line of the stranger's), and never a line that closes the fence."""
    _no_control(text, "a Markdown code block")
    if text.lstrip(" ").startswith(("```", "~~~")):
        raise UnsafeValue(f"a line that would end a Markdown code block: {shown(text)}")
    return text


def md_code(text: object) -> str:
    """A Markdown code span holding ``text`` literally (CommonMark: a fence longer than any backquote run
    inside), on one line, in the order written (``strip_terminal``, as ``md_text``)."""
    value = strip_terminal(str(text))
    longest = max((len(run) for run in re.findall(r"`+", value)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if value.startswith("`") or value.endswith("`") else ""
    return f"{fence}{pad}{value}{pad}{fence}"


def md_cell_code(text: object) -> str:
    """``md_code`` inside a table cell: GitHub's tables split a row at every ``|``, one inside a code span too, unless
    it is written ``\\|`` (shown as ``|`` there)."""
    return md_code(text).replace("|", "\\|")


# ------------------------------------------------------------------------------------------------- LaTeX

_TEX_SPECIAL = {
    "\\": r"\textbackslash{}",
    "{": r"\{",
    "}": r"\}",
    "#": r"\#",
    "$": r"\$",
    "%": r"\%",
    "&": r"\&",
    "_": r"\_",
    "^": r"\textasciicircum{}",
    "~": r"\textasciitilde{}",
    "<": r"\textless{}",
    ">": r"\textgreater{}",
    "|": r"\textbar{}",
    # The fonts' ' and ` are curly quotes (in typewriter text too), and LaTeX joins `` and '' into double ones: a
    # shell line copied from the PDF (SEED='3 4') was no longer the shell's. The straight characters (textcomp's,
    # in the kernel since 2020) copy as typed.
    "'": r"\textquotesingle{}",
    "`": r"\textasciigrave{}",
    "\N{REPLACEMENT CHARACTER}": "?",
}
# "--" becomes an en dash under T1 (and "---" an em dash anywhere): an empty group between hyphens keeps
# them hyphens, so a copied "--offline" still works.
_TEX_RE = re.compile("|".join(re.escape(c) for c in _TEX_SPECIAL) + "|-(?=-)")


def tex_text(text: object) -> str:
    """Text safe inside a LaTeX paragraph, table cell or comment: every special character escaped, control
    characters shown as ``?`` (a line break cannot end a comment or a row), ``--`` kept as two hyphens, the quote and
    the backquote the straight characters (not curly quotes).
    Unicode's line and paragraph separators (line breaks to editors and Python's splitlines) and bidirectional
    formatting characters (a viewer shows the source reordered) are shown as ``?`` too (``strip_terminal``)."""
    shown = strip_terminal(str(text))
    return _TEX_RE.sub(lambda m: _TEX_SPECIAL.get(m.group(0), "-{}"), shown)


# Where a name or a version may break in a narrow column: after these, as a path or a dotted name is broken.
_TEX_BREAK_AFTER = re.compile(r"(?<=[_.+/])")


def tex_breakable(text: object) -> str:
    """``tex_text`` that may break after ``_``, ``.``, ``+`` and ``/`` (``-`` breaks already): a package name or
    version longer than a column (``conda_package_streaming`` in a two-column paper) stuck out of it. Text of up
    to ``_TEX_SHORT`` characters fits any column and is left whole, as a reader copies it."""
    value = str(text)
    if len(value) <= _TEX_SHORT:
        return tex_text(value)
    return r"\allowbreak{}".join(tex_text(piece) for piece in _TEX_BREAK_AFTER.split(value))


_TEX_SHORT = 16


# Between two words of a command: a space that does not break, then a break that ends its line with a backslash (a
# shell continuation) and adds nothing where the line goes on. \char92 is the typewriter font's own backslash in
# OT1 and T1 alike (OT1's \textbackslash is a math symbol, which copies as another character).
_TEX_SHELL_GAP = r"\nobreakspace{}\discretionary{\char92}{}{}"
# Inside a long word: outside quotes a continuation the shell removes; inside single quotes, which hold a backslash
# literally, the quote closes before it and opens again on the next line ('/scratch/a'\ + '/b' is '/scratch/a/b').
_TEX_SHELL_BREAK = {
    "": r"\discretionary{\char92}{}{}",
    "'": r"\discretionary{\textquotesingle{}\char92}{\textquotesingle{}}{}",
}
_TEX_SHELL_LONG = 24  # a longer word may break (126 pt of typewriter: a shorter one fits any column whole)
_SHELL_PARTS = re.compile(r"'[^']*'|\"[^\"]*\"|[^'\"]+|['\"]")  # a quote no other closes is a part of its own


def tex_shell_word(word: str, every: int = 8) -> str:
    """One shell word as ``shell_word`` or ``shell_assignment`` quoted it, in ``\texttt``: a space inside it never
    breaks, and a word longer than ``_TEX_SHELL_LONG`` may break every ``every`` characters where the shell joins the
    lines again, so a copied ``SEED='3 4'`` or long path still sets what the lock recorded (a break inside quotes
    or a plain space set another value)."""
    out = []
    for part in _SHELL_PARTS.findall(_no_control(word, "a shell command")):
        quote = part[0] if part[0] in "'\"" and len(part) > 1 and part[-1] == part[0] else ""
        body = part[1:-1] if quote else part
        if len(word) > _TEX_SHELL_LONG and quote in _TEX_SHELL_BREAK:
            pieces = [body[i : i + every] for i in range(0, len(body), every)] or [""]
        else:
            pieces = [body]
        text = tex_text(pieces[0])
        for before, piece in itertools.pairwise(pieces):
            # "-" then "-" across the break would join into a dash under T1: an empty group keeps them hyphens.
            text += ("{}" if before.endswith("-") and piece.startswith("-") else "") + _TEX_SHELL_BREAK[quote]
            text += tex_text(piece)
        out.append(tex_text(quote) + text.replace(" ", r"\nobreakspace{}") + tex_text(quote))
    return "".join(out)


def tex_shell(command: str) -> str:
    """A shell command line as monospace text that breaks only where a shell joins the lines again: between its
    words, the line ending in a backslash (a shell continuation), and inside a long word (``tex_shell_word``), so
    lines copied from the PDF run as the one command (a line broken at a plain space ran as two). ``command`` is
    split as the shell splits it, and each word quoted again (``shell_word``)."""
    words = [shell_word(word) for word in shlex.split(command)]
    return r"\texttt{" + _TEX_SHELL_GAP.join(tex_shell_word(word) for word in words) + "}"


def tex_shell_code(word: str) -> str:
    """``tex_shell_word`` in ``\texttt``."""
    return r"\texttt{" + tex_shell_word(word) + "}"


def tex_code(text: object, every: int = 8) -> str:
    """Monospace text that may break every few characters (digests are longer than a column)."""
    value = str(text)
    chunks = [tex_text(value[i : i + every]) for i in range(0, len(value), every)]
    return r"\texttt{" + r"\allowbreak{}".join(chunks) + "}"
