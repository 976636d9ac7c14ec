"""ML frameworks in the environment and what they were built for: torch, TensorFlow, JAX / jaxlib.

The default path reads files the frameworks install (``torch/version.py``,
``tensorflow/python/platform/build_info.py``, ``jaxlib/version.py``, wheel versions' local labels) with
``ast``, never importing them: importing torch costs seconds. ``deep=True`` imports each framework in a
subprocess of the target interpreter with a timeout and adds what only a live import knows (the compiled
architectures, cuDNN, whether CUDA is usable), and reports what that cost.
"""

from __future__ import annotations

import json
import os
import re
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .. import _defaults, _runner
from .._control import strip_terminal
from ..model import Framework
from .cudacodes import decode
from .interface import Probe, ProbeContext, ProbeResult, RawPackage

if TYPE_CHECKING:
    import ast

DEEP_TIMEOUT = _defaults.DEEP_TIMEOUT
DEEP_WORKER = Path(__file__).with_name("_deep_worker.py")
# distribution name -> the key in [frameworks]
DISTRIBUTIONS = {
    "torch": "torch",
    "tensorflow": "tensorflow",
    "tensorflow-cpu": "tensorflow",
    "tensorflow-gpu": "tensorflow",
    "tf-nightly": "tensorflow",
    "tensorflow-intel": "tensorflow",
    "tensorflow-macos": "tensorflow",
    "jax": "jax",
    "jaxlib": "jaxlib",
}
_DEEP = ("torch", "tensorflow", "jax")
_JAX_PLUGIN = re.compile(r"^jax-cuda(\d+)-(?:plugin|pjrt)$")


def literal_assignments(source: str) -> dict[str, Any]:
    """Top-level ``name = <literal>`` (annotated or not) and ``name['key'] = <literal>`` of a Python file."""
    import ast  # where a framework's version file is read: a capture of an environment without one imports none

    out: dict[str, Any] = {}
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return out
    for node in tree.body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            target, value = node.targets[0], node.value
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            target, value = node.target, node.value
        else:
            continue
        try:
            literal = ast.literal_eval(value)
        except (ValueError, SyntaxError, TypeError):
            literal = _ordered_dict_call(value)
            if literal is None:
                continue
        if isinstance(target, ast.Name):
            if isinstance(literal, dict) and isinstance(out.get(target.id), dict):
                out[target.id] = {**out[target.id], **literal}
            else:
                out[target.id] = literal
        elif (
            isinstance(target, ast.Subscript)
            and isinstance(target.value, ast.Name)
            and isinstance(target.slice, ast.Constant)
            and isinstance(target.slice.value, str)
        ):
            table = out.setdefault(target.value.id, {})
            if isinstance(table, dict):
                table[target.slice.value] = literal
    return out


def _ordered_dict_call(node: ast.expr) -> dict[str, Any] | None:
    """``OrderedDict([(k, v), ...])`` / ``collections.OrderedDict(name)``, as older build_info.py has."""
    import ast

    if not (isinstance(node, ast.Call) and node.args):
        return None
    func = node.func
    name = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""
    if name != "OrderedDict":
        return None
    try:
        value = ast.literal_eval(node.args[0])
    except (ValueError, SyntaxError, TypeError):
        return {}  # OrderedDict(build_info): keeps the table built above
    return dict(value) if isinstance(value, (list, tuple, dict)) else None


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""


def _text(value: Any) -> str:
    return "" if value is None or value is False else str(value)


def local_label_build(version: str) -> tuple[str, str]:
    """(cuda, cudnn) from a local version label: ``+cu121`` -> 12.1, ``+cuda12.cudnn89`` -> 12 / 8.9."""
    label = version.partition("+")[2]
    m = re.fullmatch(r"cu(\d+)(\d)", label)
    if m:
        return f"{m.group(1)}.{m.group(2)}", ""
    m = re.fullmatch(r"cuda(\d+)(?:\.cudnn(\d)(\d+))?", label)
    if m:
        return m.group(1), f"{m.group(2)}.{m.group(3)}" if m.group(2) else ""
    return "", ""


def torch_build(site_dir: str, version: str) -> Framework:
    values = literal_assignments(_read(Path(site_dir, "torch", "version.py")))
    label_cuda, _ = local_label_build(version)
    return Framework(
        name="torch",
        version=_text(values.get("__version__")) or version,
        cuda_version=_text(values.get("cuda")) or label_cuda,
        rocm_version=_text(values.get("hip")),
        git_version=_text(values.get("git_version")),
    )


def tensorflow_build(site_dir: str, version: str) -> Framework:
    values = literal_assignments(_read(Path(site_dir, "tensorflow", "python", "platform", "build_info.py")))
    info = values.get("build_info")
    info = info if isinstance(info, dict) else {}
    arch = info.get("cuda_compute_capabilities") or ()
    return Framework(
        name="tensorflow",
        version=version,
        cuda_version=_text(info.get("cuda_version")),
        cudnn_version=_text(info.get("cudnn_version")),
        rocm_version=_text(info.get("rocm_version")),
        arch_list=tuple(str(a) for a in arch) if isinstance(arch, (list, tuple)) else (),
    )


def jaxlib_build(site_dir: str, version: str, plugins: Sequence[str]) -> Framework:
    values = literal_assignments(_read(Path(site_dir, "jaxlib", "version.py")))
    cuda, cudnn = local_label_build(version)
    # Since jax 0.4.26 the CUDA parts are separate plugin wheels named after the CUDA major.
    for plugin in plugins:
        m = _JAX_PLUGIN.match(plugin)
        if m and not cuda:
            cuda = m.group(1)
    return Framework(
        name="jaxlib",
        version=_text(values.get("_version")) or version,
        cuda_version=cuda,
        cudnn_version=cudnn,
    )


def probe_frameworks(packages: Sequence[RawPackage]) -> dict[str, Framework]:
    """framework name -> its build, from files only."""
    names = [p.name for p in packages]
    out: dict[str, Framework] = {}
    for pkg in packages:
        key = DISTRIBUTIONS.get(pkg.name)
        if key is None or key in out:
            continue
        site, version = pkg.site_dir, pkg.version
        if key == "torch":
            out[key] = torch_build(site, version)
        elif key == "tensorflow":
            out[key] = tensorflow_build(site, version)
        elif key == "jaxlib":
            out[key] = jaxlib_build(site, version, names)
        else:
            out[key] = Framework(name=key, version=version)
    return dict(sorted(out.items()))


def cuda_of(frameworks: Mapping[str, Framework]) -> str:
    """The CUDA version the environment's frameworks were built for (torch's first), "" for CPU builds."""
    for name in ("torch", "tensorflow", "jaxlib"):
        fw = frameworks.get(name)
        if fw is not None and fw.cuda_version:
            return fw.cuda_version
    return ""


def deep_probe(
    framework: Framework, python: str, timeout: float = DEEP_TIMEOUT, environ: Mapping[str, str] | None = None
) -> tuple[Framework, float]:
    """The framework completed by a live import in a subprocess, and the seconds that took."""
    started = time.perf_counter()
    res = _runner.run(
        [python, str(DEEP_WORKER), framework.name],
        timeout=timeout,
        env=dict(os.environ if environ is None else environ),
    )
    elapsed = time.perf_counter() - started
    if res.timed_out:
        return replace(framework, deep=True, error=f"import did not finish within {timeout:g} s"), elapsed
    last = (res.stdout.strip().splitlines() or [""])[-1]
    try:
        facts = json.loads(last) if res.ok else None
    except ValueError:
        facts = None
    if not isinstance(facts, dict):
        reason = (res.stderr.strip().splitlines() or [f"exit status {res.returncode}"])[-1]
        return replace(framework, deep=True, error=f"import failed: {reason}"), elapsed
    cudnn = framework.cudnn_version
    if facts.get("cudnn_code"):
        cudnn = decode("cudnn", facts["cudnn_code"])
    elif facts.get("cudnn_version"):
        cudnn = str(facts["cudnn_version"])
    return replace(
        framework,
        version=str(facts.get("version") or framework.version),
        cuda_version=str(facts.get("cuda_version") or framework.cuda_version),
        cudnn_version=cudnn,
        rocm_version=str(facts.get("rocm_version") or framework.rocm_version),
        git_version=str(facts.get("git_version") or framework.git_version),
        arch_list=tuple(str(a) for a in facts.get("arch_list") or framework.arch_list),
        cuda_available=bool(facts.get("cuda_available")),
        deep=True,
    ), elapsed


def deepen(
    frameworks: Mapping[str, Framework],
    python: str,
    timeout: float = DEEP_TIMEOUT,
    environ: Mapping[str, str] | None = None,
) -> tuple[dict[str, Framework], dict[str, float], list[str]]:
    """Every importable framework deep-probed: (frameworks, seconds per framework, warnings)."""
    out = dict(frameworks)
    costs: dict[str, float] = {}
    warnings = []
    for name in _DEEP:
        if name in out:
            out[name], costs[name] = deep_probe(out[name], python, timeout, environ)
            if out[name].error:
                warnings.append(f"frameworks: {name}: {out[name].error}")
    return out, costs, warnings


def probe(ctx: ProbeContext) -> ProbeResult[dict[str, Framework]]:
    """The frameworks' builds from the files they install (``--deep`` adds what a live import knows)."""
    return ProbeResult(probe_frameworks(ctx.python.packages))


def deep(ctx: ProbeContext) -> ProbeResult[dict[str, Framework]]:
    """With ``--deep``: each framework imported in a subprocess of the target interpreter; the seconds each
    import took are the result's ``parts``. Without: the frameworks as the file probe found them."""
    found = ctx.value_of(PROBE)
    if not ctx.options.deep:
        return ProbeResult(found)
    from .._privacy import scrub_text
    from .python import resolve_interpreter

    opts = ctx.options
    target = resolve_interpreter(opts.python_path, opts.python_named) if opts.python_path else sys.executable
    fw, costs, warnings = deepen(found, target, opts.deep_timeout, ctx.environ)
    # An import error's last line names whatever failed to load, wherever it lives (/scratch/<user>/...).
    redact = ctx.redact
    # One line as shown (``grammar.is_line``): a bidi or line separator character of it is U+FFFD, so the lock loads.
    fw = {
        name: replace(f, error=strip_terminal(scrub_text(redact.text(f.error)))) if f.error else f
        for name, f in fw.items()
    }
    return ProbeResult(fw, tuple(warnings), parts=costs)


class FrameworksProbe(Probe[dict[str, Framework]]):
    name = "frameworks"

    def run(self, ctx: ProbeContext) -> ProbeResult[dict[str, Framework]]:
        return probe(ctx)

    def fallback(self, ctx: ProbeContext) -> dict[str, Framework]:
        return {}


class DeepProbe(Probe[dict[str, Framework]]):
    name = "deep"

    def run(self, ctx: ProbeContext) -> ProbeResult[dict[str, Framework]]:
        return deep(ctx)

    def fallback(self, ctx: ProbeContext) -> dict[str, Framework]:
        return ctx.value_of(PROBE)  # the builds the files gave


PROBE = FrameworksProbe()
DEEP = DeepProbe()
