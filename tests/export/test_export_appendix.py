from __future__ import annotations

import dataclasses
import re
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest
from export_samples import latex_syntax_problems
from testutil import tex_typed

from envsnap import lockfile
from envsnap.export import appendix
from envsnap.model import Gpu, PythonPackage, Snapshot

NASTY = r"Tesla_V100 & #1 100% {x} ~$^\ <a|b>"


def nasty(rich: Snapshot, extra_packages: int = 0) -> Snapshot:
    """The rich lock with special characters everywhere text is printed, and optionally many packages."""
    gpus = (*rich.hardware.gpus, Gpu(index=2, name=NASTY, compute_capability="7.0", memory_mib=16_384))
    packages = (
        *rich.python.packages,
        *(
            PythonPackage(name=f"pkg-{i:03d}", version=f"1.{i}.0", metadata_name=f"pkg_{i:03d}")
            for i in range(extra_packages)
        ),
    )
    return lockfile.seal(
        dataclasses.replace(
            rich,
            hardware=dataclasses.replace(rich.hardware, gpus=gpus),
            python=dataclasses.replace(rich.python, packages=packages),
        )
    )


def test_latex_escapes_special_characters(rich: Snapshot) -> None:
    text = appendix.render_latex(nasty(rich))["appendix.tex"].decode()
    assert (
        r"Tesla\_V100 \& \#1 100\% \{x\} \textasciitilde{}\$\textasciicircum{}\textbackslash{} "
        r"\textless{}a\textbar{}b\textgreater{}"
    ) in text
    assert latex_syntax_problems(text) == []


def test_latex_syntax_check_catches_a_bad_escape() -> None:
    # The check the appendix relies on when pdflatex is absent must itself find real mistakes.
    assert latex_syntax_problems("\\begin{tabular}{ll}\na_b & c \\\\\n\\end{tabular}\n") == ["unescaped '_'"]
    assert latex_syntax_problems("\\begin{table}\n{x\n") != []
    assert latex_syntax_problems("a & b & c \\\\\n") != []


def test_long_package_lists_go_to_a_longtable(rich: Snapshot) -> None:
    text = appendix.render_latex(nasty(rich, extra_packages=150))["appendix.tex"].decode()
    assert "\\begin{longtable}" in text and "\\endhead" in text
    longtable = text[text.index("\\begin{longtable}") : text.index("\\end{longtable}")]
    assert longtable.count("pkg\\_") == 150
    # A two-column paper sets the same rows as tabulars (longtable is one-column only), chosen when compiled.
    columns = text[text.index("\\if@twocolumn") : text.index("\\else")]
    assert columns.count("pkg\\_") == 150 and "longtable" not in columns
    assert "\\toprule" in text and "\\midrule" in text and "\\bottomrule" in text


def _compile(
    tmp_path: Path,
    fragment: str | list[str],
    fontenc: str = "\\usepackage[T1]{fontenc}\n",
    options: str = "",
) -> str:
    """The log of ``paper.tex`` (an ``article`` with ``options``) that inputs each fragment, compiled twice."""
    tmp_path.mkdir(exist_ok=True)
    fragments = [fragment] if isinstance(fragment, str) else fragment
    for i, text in enumerate(fragments):
        (tmp_path / f"appendix{i}.tex").write_text(text, encoding="utf-8")
    inputs = "".join(f"\\input{{appendix{i}}}\n" for i in range(len(fragments)))
    (tmp_path / "paper.tex").write_text(
        f"\\documentclass[{options}]{{article}}\n" + fontenc + "\\usepackage{booktabs}\n"
        "\\usepackage{longtable}\n\\begin{document}\n" + inputs + "\\end{document}\n",
        encoding="utf-8",
    )
    result = subprocess.run(
        ["pdflatex", "-interaction=nonstopmode", "-halt-on-error", "paper.tex"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout[-3000:]
    # longtable needs a second run to settle column widths; it must also succeed.
    result = subprocess.run(
        ["pdflatex", "-interaction=nonstopmode", "-halt-on-error", "paper.tex"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout[-3000:]
    return (tmp_path / "paper.log").read_text(encoding="utf-8", errors="replace")


def test_the_paragraph_lists_each_kind_of_gpu_as_an_item_of_its_sentence(rich: Snapshot) -> None:
    """Two kinds of GPU and a CUDA_VISIBLE_DEVICES that hid some: the paper's paragraph read "... 503 GiB of memory
    and 1x NVIDIA A100 (...); 1x NVIDIA H100 (...); CUDA_VISIBLE_DEVICES=0 left the run 1 of them, using ...",
    the table's "; " inside the sentence's list. Each kind is an item of it now, the table unchanged."""
    a100 = Gpu(index=1, name="NVIDIA A100-SXM4-80GB", compute_capability="8.0", memory_mib=81920)
    gpus = (rich.hardware.gpus[0], a100)
    lock = dataclasses.replace(
        rich,
        hardware=dataclasses.replace(rich.hardware, gpus=gpus),
        environment={**rich.environment, "CUDA_VISIBLE_DEVICES": "0"},
    )
    text = appendix.render_markdown(lock)["appendix.md"].decode()
    assert (
        "503 GiB of memory, 1x NVIDIA A100-SXM4-80GB (compute capability 8.0, 80 GiB) and 1x NVIDIA H100 80GB HBM3 "
        "(compute capability 9.0, 80 GiB), where CUDA\\_VISIBLE\\_DEVICES=0 left the run 1 of them, using"
    ) in text, text
    assert (
        "| GPUs | 1 x NVIDIA A100-SXM4-80GB (compute capability 8.0, 80 GiB); 1 x NVIDIA H100 80GB HBM3 (compute "
        "capability 9.0, 80 GiB); CUDA\\_VISIBLE\\_DEVICES=0 left the run 1 of them |"
    ) in text


def test_show_says_how_many_gpus_the_captured_cuda_visible_devices_left_the_run(rich: Snapshot) -> None:
    """Three GPUs captured under CUDA_VISIBLE_DEVICES=1,0: the appendix said the run saw 2 of them, while `show`
    listed the three and said nothing of it. `show` says it in the appendix's words now."""
    from envsnap.cli.show import summary_rows

    gpus = tuple(dataclasses.replace(rich.hardware.gpus[0], index=i) for i in range(3))
    lock = dataclasses.replace(
        rich,
        hardware=dataclasses.replace(rich.hardware, gpus=gpus),
        environment={**rich.environment, "CUDA_VISIBLE_DEVICES": "1,0"},
    )
    rows = dict(summary_rows(lock))
    assert rows["GPUs visible"] == "CUDA_VISIBLE_DEVICES=1,0 left the run 2 of them"
    text = appendix.render_markdown(lock)["appendix.md"].decode()
    assert "CUDA\\_VISIBLE\\_DEVICES=1,0 left the run 2 of them" in text
    # All three visible (unset, or naming each): no such row.
    for setting in ({}, {"CUDA_VISIBLE_DEVICES": "0,1,2"}):
        assert "GPUs visible" not in dict(summary_rows(dataclasses.replace(lock, environment=setting)))


def test_the_appendix_says_why_a_gpu_has_no_name(rich: Snapshot) -> None:
    """A GPU whose name NVML did not give (nvmlDeviceGetName: GPU is lost, which the lock's nvidia.error records):
    the appendix read "1 x unknown GPU (compute capability 8.0)" and said nothing of why. It gives NVML's error."""
    from envsnap.model import Nvidia

    lost = "GPU 1: nvmlDeviceGetName: GPU is lost"
    gpus = (rich.hardware.gpus[0], Gpu(index=1, name="", compute_capability="8.0"))
    lock = dataclasses.replace(
        rich,
        hardware=dataclasses.replace(rich.hardware, gpus=gpus),
        nvidia=Nvidia(driver_version="550.54.14", cuda_driver_version="12.4", source="nvml", error=lost),
    )
    text = appendix.render_markdown(lock)["appendix.md"].decode()
    assert "1 x unknown GPU (NVML: GPU is lost, compute capability 8.0)" in text, text
    # No error recorded for it: the name alone, as before.
    quiet = dataclasses.replace(lock, nvidia=Nvidia(driver_version="550.54.14", source="nvml"))
    assert "1 x unknown GPU (compute capability 8.0)" in appendix.render_markdown(quiet)["appendix.md"].decode()


@pytest.mark.integration
@pytest.mark.tex
@pytest.mark.skipif(
    shutil.which("pdflatex") is None,
    reason="pdflatex is not installed (apt-get install texlive-latex-base "
    "texlive-latex-recommended); test_latex_escapes_special_characters still runs "
    "the LaTeX syntax check",
)
@pytest.mark.parametrize("fontenc", ["\\usepackage[T1]{fontenc}\n", ""], ids=["T1", "default-OT1"])
def test_latex_compiles_with_pdflatex(rich: Snapshot, tmp_path: Path, fontenc: str) -> None:
    # Without fontenc (the default OT1 encoding many preambles keep) typewriter text is wider: it must fit too.
    log = _compile(tmp_path, appendix.render_latex(nasty(rich, extra_packages=150))["appendix.tex"].decode(), fontenc)
    pages = int(re.search(r"Output written on paper\.pdf \((\d+) pages?", log).group(1))  # type: ignore[union-attr]
    assert pages >= 3  # 150+ packages flow over several pages through the longtable
    assert "Overfull \\hbox" not in log  # nothing sticks out of the page, digests included


@pytest.mark.integration
@pytest.mark.tex
@pytest.mark.skipif(shutil.which("pdflatex") is None, reason="pdflatex is not installed")
def test_latex_compiles_in_a_two_column_paper(rich: Snapshot, tmp_path: Path) -> None:
    """Most ML venues print two columns (ICML, CVPR, ACL): a longtable cannot be set there ("longtable not in
    1-column mode", and the paper did not build), and a long package name stuck out of the narrow column."""
    long_names = (
        PythonPackage(name="conda-package-streaming", version="0.9.0", metadata_name="conda_package_streaming"),
        PythonPackage(name="nvidia-cuda-cupti-cu12", version="12.1.105.dev20240101+cu121.local.build.tag"),
    )
    snapshot = nasty(rich, extra_packages=150)
    snapshot = lockfile.seal(
        dataclasses.replace(
            snapshot, python=dataclasses.replace(snapshot.python, packages=(*snapshot.python.packages, *long_names))
        )
    )
    log = _compile(tmp_path, appendix.render_latex(snapshot)["appendix.tex"].decode(), options="twocolumn")
    assert "Overfull \\hbox" not in log
    pages = int(re.search(r"Output written on paper\.pdf \((\d+) pages?", log).group(1))  # type: ignore[union-attr]
    assert pages >= 2  # the package list flows from column to column and over pages


@pytest.mark.integration
@pytest.mark.tex
@pytest.mark.skipif(shutil.which("pdflatex") is None, reason="pdflatex is not installed")
def test_the_digest_fits_wherever_the_paragraph_puts_it(rich: Snapshot, tmp_path: Path) -> None:
    """The digest (71 characters of typewriter, wider than a line) ended the justified "Computational
    environment" paragraph: starting a line of its own it could not break there (a line of it has no space to
    stretch) and stuck 30 pt out of the page. Each CPU name length moves it along the line."""
    fragments = [
        appendix.render_latex(
            lockfile.seal(
                dataclasses.replace(
                    rich,
                    hardware=dataclasses.replace(
                        rich.hardware,
                        cpu=dataclasses.replace(rich.hardware.cpu, model="ab " * (n // 3) + "c" * (n % 3)),
                    ),
                )
            )
        )["appendix.tex"].decode()
        for n in range(0, 80, 3)
    ]
    log = _compile(tmp_path, fragments)
    assert "Overfull \\hbox" not in log


def test_markdown_table_and_groups(rich: Snapshot) -> None:
    text = appendix.render_markdown(nasty(rich))["appendix.md"].decode()
    table = [line for line in text.splitlines() if line.startswith("|")]
    assert table[0] == "| Component | Version |"
    for row in table:
        assert len(re.findall(r"(?<!\\)\|", row)) == 3, row
    assert "Tesla\\_V100 \\& #1 100% {x} \\~\\$^\\\\ \\<a\\|b\\>" in text
    groups = re.findall(r"^- \*\*(.+?)\*\*", text, re.MULTILINE)
    assert groups == ["Frameworks", "CUDA libraries", "Numerical and data", "Other packages"]
    assert nasty(rich).envsnap.content_digest in text


def test_dollars_of_a_lock_value_show_as_written_where_github_renders_the_markdown(rich: Snapshot) -> None:
    """GitHub renders text between two dollars as math: a CPU model "Intel $x^2$ $5" showed as x squared in
    appendix.md's table (``md_text`` escaped emphasis, code, links and tildes, not the dollar)."""
    import html

    from markdown_it import MarkdownIt

    model = "Intel $x^2$ and $5"
    cpu = dataclasses.replace(rich.hardware.cpu, model=model)
    lock = lockfile.seal(dataclasses.replace(rich, hardware=dataclasses.replace(rich.hardware, cpu=cpu)))
    text = appendix.render_markdown(lock)["appendix.md"].decode()
    row = next(line for line in text.splitlines() if line.startswith("| CPU |"))
    assert not re.search(r"(?<!\\)\$", row), row  # GitHub's math opens at an unescaped dollar
    rendered = MarkdownIt("commonmark").enable(["table", "strikethrough"]).render(text)
    cell = rendered.split("<td>CPU</td>", 1)[1].split("<td>", 1)[1].split("</td>", 1)[0]
    assert html.unescape(cell).startswith(model), cell


def test_a_character_reference_of_a_lock_value_shows_as_written_not_as_the_character(rich: Snapshot) -> None:
    """Markdown reads ``&#x202e;`` as the character U+202E: a CPU model holding that reference showed the rest of its
    table row reversed in any viewer, where ``md_text`` shows a bidirectional character itself as U+FFFD, and
    ``&lt;b&gt;`` showed as ``<b>``. The ampersand is escaped, so the text shows as the lock has it."""
    import html

    from markdown_it import MarkdownIt

    model = "Intel &#x202e;lanigiro &lt;b&gt; &amp; R&D"
    cpu = dataclasses.replace(rich.hardware.cpu, model=model)
    lock = lockfile.seal(dataclasses.replace(rich, hardware=dataclasses.replace(rich.hardware, cpu=cpu)))
    text = appendix.render_markdown(lock)["appendix.md"].decode()
    rendered = MarkdownIt("commonmark").enable(["table", "strikethrough"]).render(text)
    assert "\u202e" not in rendered, rendered
    cell = rendered.split("<td>CPU</td>", 1)[1].split("<td>", 1)[1].split("</td>", 1)[0]
    assert html.unescape(cell).startswith(model), cell


def test_unknown_facts_are_said_not_guessed(rich: Snapshot) -> None:
    imported = dataclasses.replace(
        rich,
        nvidia=None,
        cuda=None,
        hardware=dataclasses.replace(rich.hardware, gpus=()),
        envsnap=dataclasses.replace(rich.envsnap, origin="pylock", unknown=("hardware", "nvidia")),
    )
    text = appendix.render_markdown(imported)["appendix.md"].decode()
    assert "| NVIDIA driver | unknown |" in text and "| GPUs | unknown |" in text
    assert "imported from pylock, which does not record: hardware, nvidia" in text
    captured_without_gpu = dataclasses.replace(imported, envsnap=rich.envsnap)
    text = appendix.render_markdown(captured_without_gpu)["appendix.md"].decode()
    assert "| NVIDIA driver | none |" in text and "| GPUs | none |" in text


@pytest.mark.parametrize("fmt", ["markdown", "latex"])
def test_rebuild_instructions_follow_the_lock(rich: Snapshot, fmt: str) -> None:
    # A conda lock rebuilt by the default (venv) target would lose its conda layer: the reader is told the
    # conda target and the conda files; a pip-only lock keeps the pip and uv instructions.
    render = appendix.render_markdown if fmt == "markdown" else appendix.render_latex
    # LaTeX writes "--" as "-{}-" (two hyphens when typeset, never an en dash) and may break a command only where
    # its line ends in a continuation (tex_typed reads both as typed): the same command once printed.
    conda_text = tex_typed(next(iter(render(rich).values())).decode())
    assert "envsnap rebuild envsnap.lock --target conda" in conda_text
    assert "conda-lock install --prefix ./env conda-lock.yml" in conda_text
    assert "conda create --prefix ./env --file conda-explicit.txt" in conda_text
    assert "uv pip sync" not in conda_text
    pip_only = lockfile.seal(dataclasses.replace(rich, conda=None))
    pip_text = tex_typed(next(iter(render(pip_only).values())).decode())
    assert "--target conda" not in pip_text and "conda-lock" not in pip_text
    assert "uv pip sync pylock.toml" in pip_text
    assert "pip install --require-hashes --no-deps -r requirements.txt" in pip_text


@pytest.mark.integration
@pytest.mark.tex
@pytest.mark.skipif(shutil.which("pdflatex") is None, reason="pdflatex is not installed")
@pytest.mark.parametrize("fontenc", ["\\usepackage[T1]{fontenc}\n", ""], ids=["T1", "default-OT1"])
def test_appendix_of_an_imported_conda_lock(rich: Snapshot, tmp_path: Path, fontenc: str) -> None:
    # An @EXPLICIT file as conda writes it lists no pip packages (envsnap's and conda-lock's list them as
    # ``# pip`` lines, left out here): the appendix says "unknown", not "0", and the long list of what the import
    # does not know fits the page.
    from envsnap import importers
    from envsnap.export import conda_explicit

    condas_own = [line for line in conda_explicit.dumps(rich).splitlines() if not line.startswith("# pip ")]
    (tmp_path / "explicit.txt").write_text("\n".join(condas_own) + "\n")
    imported = lockfile.seal(importers.read_file(tmp_path / "explicit.txt"))
    assert "Python packages (unknown)" in appendix.render_markdown(imported)["appendix.md"].decode()
    tex = appendix.render_latex(imported)["appendix.tex"].decode()
    assert "\\caption{Python packages (unknown).}" in tex
    log = _compile(tmp_path / "tex", tex, fontenc)
    assert "Overfull \\hbox" not in log


@pytest.mark.parametrize("fmt", ["markdown", "latex"])
def test_the_appendix_names_the_lock_it_was_made_from(rich: Snapshot, tmp_path: Path, fmt: str) -> None:
    """``export env.lock`` wrote "envsnap check envsnap.lock": a reader of the paper has no such file."""
    from envsnap.cli import main

    lock = tmp_path / "env.lock"
    lockfile.dump(rich, lock)
    out = tmp_path / "appendix"
    assert main(["export", str(lock), "-f", fmt, "-o", str(out)]) == 0
    text = tex_typed(out.read_text(encoding="utf-8"))
    assert "envsnap.lock" not in text
    assert "envsnap check env.lock" in text and "envsnap rebuild env.lock" in text


def test_a_lock_name_is_escaped_for_each_place_it_is_written(rich: Snapshot) -> None:
    name = "my env $(id) & 100%_{x}`.lock"
    markdown = appendix.render_markdown(rich, lock_name=name)["appendix.md"].decode()
    # In the shell lines, one quoted word; in the prose, a code span holding it literally.
    assert "envsnap check 'my env $(id) & 100%_{x}`.lock'" in markdown
    assert "``my env $(id) & 100%_{x}`.lock``" in markdown
    latex = appendix.render_latex(rich, lock_name=name)["appendix.tex"].decode()
    assert latex_syntax_problems(latex) == []
    assert r"envsnap check \textquotesingle{}my env \$(id) \& 100\%\_\{x\}\textasciigrave{}" in tex_typed(latex)
    assert "$(id)" not in latex.replace(r"\$(id)", "")


def test_a_bundles_appendix_names_the_bundles_lock(rich: Snapshot) -> None:
    assert "envsnap check envsnap.lock" in appendix.render_markdown(rich)["appendix.md"].decode()


@pytest.mark.parametrize("fmt", ["markdown", "latex"])
def test_the_driver_row_keeps_the_version_when_one_gpu_did_not_answer(rich: Snapshot, fmt: str) -> None:
    """One GPU lost at capture (NVML answered the driver, then "GPU is lost" for that GPU): the paper's table read
    "NVIDIA driver | error: GPU 1: nvmlDeviceGetName: GPU is lost" while its paragraph named driver 550.54.15."""
    assert rich.nvidia is not None
    lost = dataclasses.replace(rich.nvidia, error="GPU 1: nvmlDeviceGetName: GPU is lost")
    render = appendix.render_markdown if fmt == "markdown" else appendix.render_latex
    text = next(iter(render(dataclasses.replace(rich, nvidia=lost)).values())).decode()
    assert "550.54.15 (supports CUDA 12.4)" in text
    assert "GPU is lost" not in text
    dead = dataclasses.replace(
        rich.nvidia, driver_version="", cuda_driver_version="", error="nvmlInit: Driver Not Loaded"
    )
    text = next(iter(render(dataclasses.replace(rich, nvidia=dead)).values())).decode()
    assert "error: nvmlInit: Driver Not Loaded" in text


def test_the_gpus_of_a_driver_that_did_not_answer_are_unknown_not_none(rich: Snapshot) -> None:
    """Captured while the driver did not answer, the lock records no GPU: the paper's table said "GPUs | none",
    that the experiments ran on no GPU, where they are not known."""
    assert rich.nvidia is not None
    dead = dataclasses.replace(
        rich.nvidia, driver_version="", cuda_driver_version="", error="nvmlInit: Driver Not Loaded"
    )
    lock = dataclasses.replace(rich, nvidia=dead, hardware=dataclasses.replace(rich.hardware, gpus=()))
    text = appendix.render_markdown(lock)["appendix.md"].decode()
    assert "| GPUs | unknown (the NVIDIA driver did not answer at capture) |" in text, text
    # A lock of a host without a driver ran on no GPU.
    bare = dataclasses.replace(lock, nvidia=None)
    assert "| GPUs | none |" in appendix.render_markdown(bare)["appendix.md"].decode()


@pytest.mark.parametrize("fmt", ["markdown", "latex"])
def test_the_gpus_say_what_cuda_visible_devices_left_the_run(rich: Snapshot, fmt: str) -> None:
    """Captured with CUDA_VISIBLE_DEVICES=0 on a two-H100 machine, the paper said the experiments ran with
    "2x NVIDIA H100": the run could see one of them."""
    render = appendix.render_markdown if fmt == "markdown" else appendix.render_latex
    one = dataclasses.replace(rich, environment={**rich.environment, "CUDA_VISIBLE_DEVICES": "0"})
    text = next(iter(render(one).values())).decode()
    assert text.count("CUDA\\_VISIBLE\\_DEVICES=0 left the run 1 of them") == 2  # the table and the paragraph
    both = dataclasses.replace(rich, environment={**rich.environment, "CUDA_VISIBLE_DEVICES": "0,1"})
    assert "VISIBLE" not in next(iter(render(both).values())).decode()


@pytest.mark.integration
@pytest.mark.tex
@pytest.mark.skipif(shutil.which("pdflatex") is None, reason="pdflatex is not installed")
def test_long_names_in_a_two_column_paper_stay_on_the_page(rich: Snapshot, tmp_path: Path) -> None:
    """In a two-column paper the package list was set as tabulars of 24 rows each, whatever their height: names
    as long as ``opentelemetry-instrumentation-aiohttp-client`` wrap to three lines there, a tabular of them was
    taller than the column, and its last rows were printed below the page's bottom edge ("Overfull \\vbox")."""
    long_names = tuple(
        PythonPackage(name=f"opentelemetry-instrumentation-aiohttp-client{i:02d}", version="0.48b0") for i in range(60)
    )
    snapshot = lockfile.seal(
        dataclasses.replace(
            rich, python=dataclasses.replace(rich.python, packages=(*rich.python.packages, *long_names))
        )
    )
    log = _compile(tmp_path, appendix.render_latex(snapshot)["appendix.tex"].decode(), options="twocolumn")
    assert "Overfull \\vbox" not in log and "Overfull \\hbox" not in log


@pytest.mark.integration
@pytest.mark.tex
def test_a_shell_quote_in_the_latex_appendix_prints_as_a_straight_quote(rich: Snapshot, tmp_path: Path) -> None:
    """A reader copies a command or a variable out of the paper's PDF: ``SEED='3 4'`` and ``envsnap check
    'my env.lock'`` were typeset with the typewriter font's curly quotes (``'`` is a right quote there, and a
    backquote a left one), and the copied line (SEED= and right quotes) was no longer the shell's. Each is the straight
    character in the PDF now, in a paper with the default encoding (its fonts name their glyphs)."""
    from envsnap import sinks
    from envsnap.artifacts.appendix import ArtifactFacts, RunVariable, RunVariables

    word = sinks.shell_assignment("SEED", "3 `x` 4")
    facts = ArtifactFacts(variables=(RunVariables("runs/run.toml", (RunVariable("SEED", word),)),))
    text = appendix.render_latex(rich, facts, lock_name="my env.lock")["appendix.tex"].decode()
    assert "SEED" in text and "my env" in text
    _compile(tmp_path, "\\pdfcompresslevel=0 \\pdfobjcompresslevel=0\n" + text, fontenc="")
    pdf = (tmp_path / "paper.pdf").read_bytes().decode("latin-1")
    glyphs = re.findall(r"/FontName /\w+\+CMTT10\n.*?/CharSet \(([^)]*)\)", pdf, re.S)
    assert glyphs, "no typewriter font in the PDF"
    assert not any("/quoteright" in g or "/quoteleft" in g for g in glyphs), glyphs


@pytest.mark.parametrize("fmt", ["markdown", "latex"])
def test_a_lock_file_name_no_shell_word_can_hold_is_one_line(rich: Snapshot, tmp_path: Path, fmt: str, cli) -> None:  # type: ignore[no-untyped-def]
    """A lock unpacked from a stranger's archive under a name holding a newline: the appendix's ``envsnap check
    NAME`` cannot be written, and ``export`` ended in a traceback (``UnsafeValue``, exit 1), where the requirements
    export of the same lock refuses it in one line, exit 2."""
    lock = tmp_path / "env\n--target docker.lock"
    lockfile.dump(rich, lock)
    out = tmp_path / "appendix"
    result = cli("export", lock, "-f", fmt, "-o", out)
    assert result.code == 2, result
    assert "Traceback" not in result.err and len(result.err.strip().splitlines()) == 1, result
    assert f"error: {fmt}: refused a value" in result.err and r"'env\n--target docker.lock'" in result.err, result
    assert not out.exists()


def test_a_bidi_character_of_the_lock_name_is_not_kept_in_the_markdown_commands(rich: Snapshot) -> None:
    """A lock named ``\\u202ekcol.vne`` (an archive's file) showed reordered in the Markdown appendix's ``envsnap
    check`` line, the one place a Markdown value kept a bidirectional formatting character (the shell word is marked
    escaped, and skipped the format's default): it is U+FFFD there too, as in the prose's code span."""
    name = "\u202ekcol.vne"
    markdown = appendix.render_markdown(rich, lock_name=name)["appendix.md"].decode()
    assert "\u202e" not in markdown
    assert "envsnap check '\ufffdkcol.vne'" in markdown and "envsnap rebuild '\ufffdkcol.vne'" in markdown
    bundled = appendix.render_markdown(rich, lock_name=name, bundled=True)["appendix.md"].decode()
    assert "\u202e" not in bundled and "envsnap rebuild '\ufffdkcol.vne' " in bundled
    assert "--bundle . --offline" in bundled


def test_cuda_runtime_wheels_no_binary_tells_apart_are_not_called_cpu_only(rich: Snapshot) -> None:
    """An environment with the CUDA 12 and CUDA 13 runtime wheels and no framework records no selected runtime (no
    binary of it names one): `show` and the appendix called it "CPU-only (the environment loads no CUDA library)"
    while `check` judged it a CUDA 13.0 lock and failed it on a host without a GPU. Both name the wheels now."""
    from envsnap.cli.show import summary_rows
    from envsnap.model import Cuda, CudaLibrary

    wheels = (
        PythonPackage(name="nvidia-cuda-runtime", version="13.0.96"),
        PythonPackage(name="nvidia-cuda-runtime-cu12", version="12.8.90"),
    )
    copies = (
        CudaLibrary("runtime", "13.0.96", "pip", "nvidia-cuda-runtime"),
        CudaLibrary("runtime", "12.8.90", "pip", "nvidia-cuda-runtime-cu12"),
    )
    lock = lockfile.seal(
        dataclasses.replace(
            rich,
            frameworks={},
            cuda=Cuda(toolkit_version="13.0", copies=copies),
            python=dataclasses.replace(rich.python, packages=wheels),
        )
    )
    carried = "nvidia-cuda-runtime 13.0.96 and nvidia-cuda-runtime-cu12 12.8.90"
    said = f"{carried} (which runtime the code loads is not recorded)"
    # Nothing the lock records loads from the toolkit (the copies are the two wheels): it is there, not loaded.
    assert dict(summary_rows(lock))["CUDA"] == f"{said}; toolkit 13.0 present, not loaded"
    text = appendix.render_markdown(lock)["appendix.md"].decode()
    assert f"| CUDA | {said} |" in text and "CPU-only" not in text
    # A toolkit beside no CUDA wheel and no CUDA build is still CPU-only.
    cpu = lockfile.seal(dataclasses.replace(lock, python=dataclasses.replace(rich.python, packages=())))
    assert (
        dict(summary_rows(cpu))["CUDA"]
        == "CPU-only: the environment loads no CUDA library; toolkit 13.0 present, not loaded"
    )
    assert (
        "| CUDA | CPU-only (the environment loads no CUDA library) |"
        in appendix.render_markdown(cpu)["appendix.md"].decode()
    )


def test_show_names_the_libraries_a_cuda_build_with_no_runtime_recorded_loads(rich: Snapshot) -> None:
    """torch 2.7.1+cu128, no CUDA runtime recorded, and cuDNN and NCCL wheels its binaries load: `show` read
    "torch 2.7.1+cu128 built for CUDA 12.8 (the lock records no CUDA runtime)" and left out the library versions
    every other CUDA row names. They follow it now."""
    from envsnap.cli.show import summary_rows
    from envsnap.model import Cuda, Framework

    cuda = Cuda(cudnn_version="9.8.0", cudnn_source="pip", nccl_version="2.26.2", nccl_source="pip")
    lock = lockfile.seal(
        dataclasses.replace(
            rich,
            frameworks={"torch": Framework(name="torch", version="2.7.1+cu128", cuda_version="12.8")},
            cuda=cuda,
            python=dataclasses.replace(rich.python, packages=(PythonPackage(name="torch", version="2.7.1+cu128"),)),
        )
    )
    said = "torch 2.7.1+cu128 built for CUDA 12.8 (the lock records no CUDA runtime)"
    assert dict(summary_rows(lock))["CUDA"] == f"{said}; cuDNN 9.8.0, NCCL 2.26.2"
    with_toolkit = dataclasses.replace(lock, cuda=dataclasses.replace(cuda, toolkit_version="13.0"))
    libraries = "cuDNN 9.8.0, NCCL 2.26.2"
    assert dict(summary_rows(with_toolkit))["CUDA"] == f"{said}; {libraries}; toolkit 13.0 present, not loaded"


def test_the_appendix_names_the_libraries_a_cuda_build_with_no_runtime_recorded_loads_as_show_does(
    rich: Snapshot,
) -> None:
    """torch 2.7.1+cu128, no CUDA runtime recorded, and the cuDNN, NCCL and cuBLAS wheels its binaries load: `show`
    names their versions after the build; the appendix's CUDA row read "torch 2.7.1+cu128 built for CUDA 12.8 (the
    lock records no CUDA runtime)" and named none. Both name them now, from one function."""
    from envsnap.cli.show import summary_rows
    from envsnap.model import Cuda, Framework

    cuda = Cuda(
        cudnn_version="9.8.0",
        cudnn_source="pip",
        nccl_version="2.26.2",
        nccl_source="pip",
        cublas_version="12.8.4.1",
        cublas_source="pip",
    )
    lock = lockfile.seal(
        dataclasses.replace(
            rich,
            frameworks={"torch": Framework(name="torch", version="2.7.1+cu128", cuda_version="12.8")},
            cuda=cuda,
            python=dataclasses.replace(rich.python, packages=(PythonPackage(name="torch", version="2.7.1+cu128"),)),
        )
    )
    said = (
        "torch 2.7.1+cu128 built for CUDA 12.8 (the lock records no CUDA runtime); "
        "cuDNN 9.8.0, NCCL 2.26.2, cuBLAS 12.8.4.1"
    )
    assert dict(summary_rows(lock))["CUDA"] == said
    assert f"| CUDA | {said} |" in appendix.render_markdown(lock)["appendix.md"].decode()
    latex = " ".join(appendix.render_latex(lock)["appendix.tex"].decode().split())
    assert "cuDNN 9.8.0, NCCL 2.26.2, cuBLAS 12.8.4.1" in latex, latex
    # None loaded: the build alone, as before.
    bare = lockfile.seal(dataclasses.replace(lock, cuda=Cuda()))
    assert "| CUDA | torch 2.7.1+cu128 built for CUDA 12.8 (the lock records no CUDA runtime) |" in (
        appendix.render_markdown(bare)["appendix.md"].decode()
    )


def test_show_says_a_toolkit_beside_runtime_wheels_of_two_majors_is_loaded_only_where_a_library_comes_from_it(
    rich: Snapshot,
) -> None:
    """The CUDA 12 and 13 runtime wheels and a CUDA 13.0 toolkit nothing loads from: `show` read "...; toolkit 13.0",
    bare, where every other CUDA row says such a toolkit is "present, not loaded". It says so now, and stays bare
    where a cuDNN the environment loads comes from the toolkit."""
    from envsnap.cli.show import summary_rows
    from envsnap.model import Cuda, CudaLibrary

    wheels = (
        PythonPackage(name="nvidia-cuda-runtime", version="13.0.96"),
        PythonPackage(name="nvidia-cuda-runtime-cu12", version="12.8.90"),
    )
    copies = (
        CudaLibrary("runtime", "13.0.96", "pip", "nvidia-cuda-runtime"),
        CudaLibrary("runtime", "12.8.90", "pip", "nvidia-cuda-runtime-cu12"),
    )
    base = dataclasses.replace(rich, frameworks={}, python=dataclasses.replace(rich.python, packages=wheels))
    carried = "nvidia-cuda-runtime 13.0.96 and nvidia-cuda-runtime-cu12 12.8.90"
    said = f"{carried} (which runtime the code loads is not recorded)"
    lock = lockfile.seal(dataclasses.replace(base, cuda=Cuda(toolkit_version="13.0", copies=copies)))
    assert dict(summary_rows(lock))["CUDA"] == f"{said}; toolkit 13.0 present, not loaded"
    cuda = Cuda(toolkit_version="13.0", copies=copies, cudnn_version="9.8.0", cudnn_source="cuda_home")
    assert dict(summary_rows(dataclasses.replace(lock, cuda=cuda)))["CUDA"] == f"{said}; toolkit 13.0"


def test_a_cuda_build_with_no_runtime_recorded_is_not_said_to_carry_runtimes_of_two_majors(rich: Snapshot) -> None:
    """torch 2.7.1+cu128 and no CUDA runtime copy any binary loads, on a host with a CUDA 13.0 toolkit: `show` read
    "torch 2.7.1+cu128 built for CUDA 12.8 (which runtime the code loads is not recorded); toolkit 13.0", the
    wording for runtime wheels of two CUDA majors, and did not say the toolkit is present, not loaded (the appendix
    the same). Both say the lock records no CUDA runtime now, and show the toolkit as present, not loaded."""
    from envsnap.cli.show import summary_rows
    from envsnap.model import Cuda, CudaLibrary, Framework

    toolkit = (CudaLibrary("runtime", "13.0.96", "cuda_home", "/usr/local/cuda-13.0/lib/libcudart.so.13"),)
    lock = lockfile.seal(
        dataclasses.replace(
            rich,
            frameworks={"torch": Framework(name="torch", version="2.7.1+cu128", cuda_version="12.8")},
            cuda=Cuda(toolkit_version="13.0", copies=toolkit),
            python=dataclasses.replace(rich.python, packages=(PythonPackage(name="torch", version="2.7.1+cu128"),)),
        )
    )
    said = "torch 2.7.1+cu128 built for CUDA 12.8 (the lock records no CUDA runtime)"
    assert dict(summary_rows(lock))["CUDA"] == f"{said}; toolkit 13.0 present, not loaded"
    text = appendix.render_markdown(lock)["appendix.md"].decode()
    assert f"| CUDA | {said} |" in text and "which runtime" not in text


def test_a_toolkit_nothing_loads_is_not_the_appendixs_cuda_toolkit(rich: Snapshot) -> None:
    """A CUDA 12.8 runtime from pip loaded, and a CUDA 13.0 toolkit in /usr/local/cuda nothing loads: `show` said
    "toolkit 13.0 present, not loaded", the paper appendix a bare "| CUDA toolkit | 13.0 |", the toolkit the
    experiments used as a reader takes it. It says present, not loaded too; a toolkit a loaded copy comes from
    stays bare."""
    from envsnap.cli.show import summary_rows
    from envsnap.model import Cuda, CudaLibrary

    copies = (
        CudaLibrary("runtime", "12.8.90", "pip", "nvidia-cuda-runtime-cu12", selected=True),
        CudaLibrary("runtime", "13.0.96", "cuda_home", "/usr/local/cuda-13.0/lib/libcudart.so.13"),
    )
    cuda = Cuda(runtime_version="12.8.90", runtime_source="pip", toolkit_version="13.0", copies=copies)
    lock = lockfile.seal(dataclasses.replace(rich, cuda=cuda))
    assert dict(summary_rows(lock))["CUDA"] == "runtime 12.8.90; toolkit 13.0 present, not loaded"
    text = appendix.render_markdown(lock)["appendix.md"].decode()
    assert "| CUDA toolkit | 13.0 (present, not loaded) |" in text
    used = dataclasses.replace(cuda, runtime_version="13.0.96", runtime_source="cuda_home")
    text = appendix.render_markdown(lockfile.seal(dataclasses.replace(rich, cuda=used)))["appendix.md"].decode()
    assert "| CUDA toolkit | 13.0 |" in text


def test_a_toolkit_a_loaded_library_comes_from_is_not_said_not_loaded(rich: Snapshot) -> None:
    """cuDNN 9.1.0 a binary loads from the CUDA 12.4 toolkit (CUDA_HOME), no runtime, framework or wheel: `show`
    said "; toolkit 12.4 present, not loaded" of the toolkit the cuDNN is loaded from. It names the toolkit bare."""
    from envsnap.cli.show import summary_rows
    from envsnap.model import Cuda, CudaLibrary

    where = "/usr/local/cuda-12.4/lib64/libcudnn.so.9"
    copies = (CudaLibrary("cudnn", "9.1.0", "cuda_home", where, selected=True),)
    cuda = Cuda(cudnn_version="9.1.0", cudnn_source="cuda_home", toolkit_version="12.4", copies=copies)
    bare = dataclasses.replace(rich, frameworks={}, python=dataclasses.replace(rich.python, packages=()))
    lock = lockfile.seal(dataclasses.replace(bare, cuda=cuda))
    assert dict(summary_rows(lock))["CUDA"] == f"cuDNN 9.1.0 (for CUDA 12.4: cuDNN 9.1.0 at {where}); toolkit 12.4"
    system = dataclasses.replace(cuda, cudnn_source="system", copies=(dataclasses.replace(copies[0], source="system"),))
    said = dict(summary_rows(lockfile.seal(dataclasses.replace(bare, cuda=system))))["CUDA"]
    assert said.endswith("; toolkit 12.4 present, not loaded"), said


def test_a_rocm_build_is_not_called_cpu_only(rich: Snapshot) -> None:
    """torch 2.5.1+rocm6.2 beside a CUDA 13.0 toolkit nothing loads: `show` read "CPU-only: the environment loads no
    CUDA library; toolkit 13.0 present, not loaded" and the appendix "CPU-only", of a build that runs on an AMD GPU.
    Both name the ROCm build now; a CPU build stays CPU-only."""
    from envsnap.cli.show import summary_rows
    from envsnap.model import Cuda, Framework

    rocm = Framework(name="torch", version="2.5.1+rocm6.2", rocm_version="6.2.41133-dd7f95766")
    lock = lockfile.seal(
        dataclasses.replace(
            rich,
            frameworks={"torch": rocm},
            cuda=Cuda(toolkit_version="13.0"),
            python=dataclasses.replace(rich.python, packages=(PythonPackage(name="torch", version=rocm.version),)),
        )
    )
    assert dict(summary_rows(lock))["CUDA"] == (
        "none: a ROCm build (torch 2.5.1+rocm6.2), the environment loads no CUDA library; "
        "toolkit 13.0 present, not loaded"
    )
    text = appendix.render_markdown(lock)["appendix.md"].decode()
    assert "| CUDA | none, a ROCm build (torch 2.5.1+rocm6.2) (the environment loads no CUDA library) |" in text
    assert "CPU-only" not in text
    cpu = lockfile.seal(dataclasses.replace(lock, frameworks={"torch": Framework(name="torch", version="2.5.1+cpu")}))
    assert dict(summary_rows(cpu))["CUDA"].startswith("CPU-only: the environment loads no CUDA library")


def test_only_nvidias_cuda_library_wheels_are_listed_as_cuda_libraries(rich: Snapshot) -> None:
    """`nvidia-.*` put nvidia-ml-py (the NVML Python binding, no CUDA library) under "CUDA libraries"."""
    names = ("nvidia-ml-py", "nvidia-cuda-runtime-cu12", "nvidia-cublas", "nvidia-nccl-cu12", "nvidia-nvjitlink-cu12")
    packages = tuple(PythonPackage(name=name, version="12.8.90") for name in names)
    lock = lockfile.seal(dataclasses.replace(rich, python=dataclasses.replace(rich.python, packages=packages)))
    text = appendix.render_markdown(lock)["appendix.md"].decode()
    groups = dict(re.findall(r"^- \*\*(.+?)\*\* \(\d+\): (.*)$", text, re.MULTILINE))
    assert groups["CUDA libraries"] == (
        "nvidia-cublas 12.8.90, nvidia-cuda-runtime-cu12 12.8.90, nvidia-nccl-cu12 12.8.90, "
        "nvidia-nvjitlink-cu12 12.8.90"
    ), groups
    assert groups["Other packages"] == "nvidia-ml-py 12.8.90", groups
    latex = appendix.render_latex(lock)["appendix.tex"].decode()
    assert "nvidia-ml-py" in latex.split("Other packages", 1)[1], latex


def _typeset_text(tmp_path: Path, fragment: str, fontenc: str, width: str) -> tuple[str, str]:
    """The log of ``fragment`` set in a column ``width`` wide (``latex``, to DVI) and its text as ``dvi2tty``
    reads it, with runs of spaces made one."""
    tmp_path.mkdir(exist_ok=True)
    (tmp_path / "appendix.tex").write_text(fragment, encoding="utf-8")
    (tmp_path / "paper.tex").write_text(
        "\\documentclass{article}\n" + fontenc + "\\usepackage{booktabs}\n\\usepackage{longtable}\n"
        f"\\setlength{{\\textwidth}}{{{width}}}\n\\begin{{document}}\n\\input{{appendix}}\n\\end{{document}}\n",
        encoding="utf-8",
    )
    for _ in range(2):
        result = subprocess.run(
            ["latex", "-interaction=nonstopmode", "-halt-on-error", "paper.tex"],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert result.returncode == 0, result.stdout[-3000:]
    shown = subprocess.run(
        ["dvi2tty", "-w", "250", "paper.dvi"], cwd=tmp_path, capture_output=True, text=True, timeout=60, check=True
    ).stdout
    log = (tmp_path / "paper.log").read_text(encoding="utf-8", errors="replace")
    return log, re.sub(r" +", " ", shown)


@pytest.mark.integration
@pytest.mark.tex
@pytest.mark.skipif(
    shutil.which("latex") is None or shutil.which("dvi2tty") is None, reason="latex or dvi2tty is not installed"
)
@pytest.mark.parametrize("conda", [False, True], ids=["pip", "conda"])
@pytest.mark.parametrize("bundled", [False, True], ids=["lock", "bundle"])
@pytest.mark.parametrize("fontenc", ["\\usepackage[T1]{fontenc}\n", ""], ids=["T1", "default-OT1"])
@pytest.mark.parametrize("width", ["345pt", "229.5pt"], ids=["one-column", "two-column"])
def test_the_appendix_commands_fit_and_run_as_copied(
    rich: Snapshot, tmp_path: Path, conda: bool, bundled: bool, fontenc: str, width: str
) -> None:
    """A bundle's rebuild line (``envsnap rebuild envsnap.lock --bundle . --offline --dest ../envsnap-env``) and
    its pip line stuck 58 and 42 pt out of a one-column page; in a column they broke at a space, and a reader who
    copied the two lines ran ``pip install ... --require-hashes`` alone, then ``-r requirements.txt``. A command
    now breaks only where its line ends in a shell continuation, `` \\``, so what is copied runs as printed."""
    snapshot = rich if conda else lockfile.seal(dataclasses.replace(rich, conda=None))
    tex = appendix.render_latex(snapshot, lock_name="my env.lock", bundled=bundled)["appendix.tex"].decode()
    log, shown = _typeset_text(tmp_path, tex, fontenc, width)
    assert "Overfull \\hbox" not in log
    pasted = re.sub(r" \\\n ?", " ", shown)  # what a shell makes of the lines copied: continuations joined
    check, pip = "envsnap check 'my env.lock'", "pip install --require-hashes --no-deps -r requirements.txt"
    conda_routes = [
        "conda-lock install --prefix ./env conda-lock.yml",
        "conda create --prefix ./env --file conda-explicit.txt",
        pip,
    ]
    commands = {
        (False, False): [check, "envsnap rebuild 'my env.lock'", pip, "uv pip sync pylock.toml"],
        (True, False): [check, "envsnap rebuild 'my env.lock' --target conda", *conda_routes],
        (False, True): [
            check,
            "envsnap rebuild 'my env.lock' --bundle . --offline --dest ../envsnap-env",
            "pip install --no-deps --no-index --find-links wheels --require-hashes -r requirements.txt",
        ],
        (True, True): [
            check,
            "envsnap rebuild 'my env.lock' --target conda --bundle . --offline --prefix ../envsnap-env",
            *conda_routes,
        ],
    }[conda, bundled]
    for command in commands:
        assert re.search(f" {re.escape(command)}[ \n,]", pasted), (command, shown)
    if width != "345pt":
        assert "\\\n" in shown  # the narrow column broke a command, with its continuation


@pytest.mark.integration
@pytest.mark.tex
@pytest.mark.skipif(
    shutil.which("latex") is None or shutil.which("dvi2tty") is None, reason="latex or dvi2tty is not installed"
)
@pytest.mark.parametrize("width", ["345pt", "229.5pt"], ids=["one-column", "two-column"])
def test_a_run_records_variables_run_as_copied(rich: Snapshot, tmp_path: Path, width: str) -> None:
    """The variables a reader sets before running a record's command by hand broke every eight characters and at
    the space inside their quotes: ``SEED='3`` ended a line and ``4'`` began the next, ``CUBLAS_W`` then
    ``ORKSPACE_CONFIG=...``, so the copied lines set other values. A quoted part never breaks now, and a long
    word breaks outside its quotes only, its line ending in a backslash the shell joins again."""
    from envsnap import sinks
    from envsnap.artifacts.appendix import ArtifactFacts, RunVariable, RunVariables

    words = [
        sinks.shell_assignment("SEED", "3 4"),
        sinks.shell_assignment("CUBLAS_WORKSPACE_CONFIG", ":4096:8"),
        sinks.shell_assignment("HF_HOME", "/scratch/shared/hf cache/of the lab"),
        sinks.shell_assignment("TOKENIZERS_PARALLELISM_FOR_THE_DATA_LOADER", "false"),
    ]
    variables = tuple(RunVariable(word.split("=", 1)[0], word) for word in words)
    facts = ArtifactFacts(variables=(RunVariables("runs/run.toml", variables),))
    text = appendix.render_latex(rich, facts)["appendix.tex"].decode()
    log, shown = _typeset_text(tmp_path, text, "\\usepackage[T1]{fontenc}\n", width)
    assert "Overfull \\hbox" not in log
    pasted = re.sub(r"\\\n ?", "", shown)  # a shell joins a line ending in a backslash with the next
    text = " ".join(line for line in pasted.splitlines() if not line.strip().isdigit())  # no page numbers
    listed = re.search(r"run it by hand\): (.*?)\.(?: |$)", " ".join(text.split())).group(1)  # type: ignore[union-attr]
    # What the shell reads from each copied word (a quote closed and opened again is the same word).
    assert [shlex.split(part) for part in listed.split("; ")] == [shlex.split(word) for word in words], shown
