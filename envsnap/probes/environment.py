"""Environment variables that change numerical results or which libraries load. Never a secret, a login or
host name (docs/lockfile.md, "Privacy")."""

from __future__ import annotations

from collections.abc import Mapping

from .. import grammar
from .._privacy import PathRedactor, is_secret_name, scrub_value
from .interface import Probe, ProbeContext, ProbeResult

_EXACT = frozenset(
    {
        "PYTHONHASHSEED",
        "PYTHONPATH",
        "PYTHONNOUSERSITE",
        # Which user site-packages (`pip install --user`) is on sys.path: the target's site module reads it under -E.
        "PYTHONUSERBASE",
        "PYTHONOPTIMIZE",
        "PYTHONUTF8",
        "PYTHONWARNINGS",
        "CUBLAS_WORKSPACE_CONFIG",
        "CUDA_VISIBLE_DEVICES",
        "CUDA_LAUNCH_BLOCKING",
        "CUDA_MODULE_LOADING",
        "CUDA_DEVICE_ORDER",
        "CUDA_HOME",
        "CUDA_PATH",
        "NVIDIA_VISIBLE_DEVICES",
        "NVIDIA_DRIVER_CAPABILITIES",
        "NVIDIA_TF32_OVERRIDE",
        "LD_LIBRARY_PATH",
        "LD_PRELOAD",
        "OMP_NUM_THREADS",
        "MKL_NUM_THREADS",
        "OPENBLAS_NUM_THREADS",
        "VECLIB_MAXIMUM_THREADS",
        "NUMEXPR_NUM_THREADS",
        "XLA_FLAGS",
        "HIP_VISIBLE_DEVICES",
        "ROCR_VISIBLE_DEVICES",
        "HSA_OVERRIDE_GFX_VERSION",
        "CC",
        "CXX",
        "TOKENIZERS_PARALLELISM",
        "HF_HUB_OFFLINE",
        "TRANSFORMERS_OFFLINE",
        "SOURCE_DATE_EPOCH",
    }
)
_PREFIXES = (
    "OMP_",
    "MKL_",
    "OPENBLAS_",
    "KMP_",
    "GOMP_",
    "TF_",
    "TORCH_",
    "PYTORCH_",
    "JAX_",
    "NCCL_",
    "CUDNN_",
    "CUBLAS",
    "NVIDIA_TF32",
    "XLA_",
    "ONEDNN_",
    "DNNL_",
    "CUPY_",
    "TRITON_",
)
# Terraform's variables share TensorFlow's TF_ prefix; its TF_VAR_* inputs often hold credentials.
_NOT_NUMERICS = (
    "TF_VAR_",
    "TF_CLI_",
    "TF_TOKEN_",
    "TF_LOG",
    "TF_WORKSPACE",
    "TF_INPUT",
    "TF_IN_AUTOMATION",
    "TF_DATA_DIR",
    "TF_PLUGIN_CACHE_DIR",
    "TF_REGISTRY_",
)
_MAX_VALUE = 4096


def filter_environment(environ: Mapping[str, str], redact: PathRedactor) -> dict[str, str]:
    out = {}
    for name, value in environ.items():
        if (name not in _EXACT and not name.startswith(_PREFIXES)) or name.startswith(_NOT_NUMERICS):
            continue
        if is_secret_name(name) or not grammar.is_env_name(name):
            continue
        # Names first (a login name in a URL's userinfo is then no different from any other), then URLs and
        # ``user:password@host`` lose their credentials; a value still holding a token is left out.
        kept = scrub_value(redact.text(value))
        if kept is not None:
            # A lock holds no control characters: a line break or tab separates like a space (XLA_FLAGS
            # written over several lines), anything else shows as U+FFFD.
            kept = grammar.strip_control(kept.replace("\t", " ").replace("\r", " ").replace("\n", " "))
            out[name] = kept[:_MAX_VALUE]
    return dict(sorted(out.items()))


def probe(ctx: ProbeContext) -> ProbeResult[dict[str, str]]:
    """The variables worth recording; GPU UUIDs in them only with ``--gpu-ids``."""
    from .nvidia import redact_device_ids

    recorded = filter_environment(ctx.environ, ctx.redact)
    return ProbeResult(recorded if ctx.options.gpu_ids else redact_device_ids(recorded))


class EnvironmentProbe(Probe[dict[str, str]]):
    name = "environment"

    def run(self, ctx: ProbeContext) -> ProbeResult[dict[str, str]]:
        return probe(ctx)

    def fallback(self, ctx: ProbeContext) -> dict[str, str]:
        return {}


PROBE = EnvironmentProbe()
