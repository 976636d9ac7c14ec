#!/usr/bin/env bash
# On a machine with NVIDIA GPUs: install envsnap, run `envsnap capture --deep`, and compare what it recorded
# with nvidia-smi's own answers. Prints a pass/fail table; exits 1 when any check fails.
#
#   bench/gpu-check.sh [OUT_DIR]
#
# WHEELHOUSE=DIR  install envsnap's dependencies from DIR (--no-index), for machines without an index.
# PYTHON=PATH     the interpreter to install into a fresh venv from (default: python3).
# ENVSNAP_PYTHON=PATH  skip the install: an interpreter that can already import envsnap and its dependencies.
# nvidia-smi is used here only as the reference to compare against: envsnap itself never reads its text.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT="${1:-${OUT:-$(mktemp -d)}}"
mkdir -p "$OUT"
PYTHON="${PYTHON:-python3}"
VENV="$OUT/venv"

command -v nvidia-smi >/dev/null || { echo "FAIL: no nvidia-smi on this machine"; exit 1; }

# --system-site-packages: a framework already on the machine (torch ...) is captured and --deep-probed too.
if [[ -n "${ENVSNAP_PYTHON:-}" ]]; then
  PY="$ENVSNAP_PYTHON"
  export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
elif [[ -n "${WHEELHOUSE:-}" ]]; then
  "$PYTHON" -m venv --system-site-packages "$VENV"
  PY="$VENV/bin/python"
  "$VENV/bin/pip" install -q --no-index --find-links "$WHEELHOUSE" .
else
  "$PYTHON" -m venv --system-site-packages "$VENV"
  PY="$VENV/bin/python"
  "$VENV/bin/pip" install -q . || {
    echo "note: pip install failed (no index?); running from the source tree instead"
    export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
  }
fi

start=$(date +%s.%N)
rc=0
"$PY" -m envsnap capture --deep --gpu-ids -o "$OUT/gpu.lock" 2> "$OUT/capture.err" || rc=$?
if [[ $rc != 0 ]]; then
  cat "$OUT/capture.err"; echo "FAIL: envsnap capture --deep exited with $rc"; exit 1
fi
end=$(date +%s.%N)
cat "$OUT/capture.err"

nvidia-smi --query-gpu=index,name,compute_cap,memory.total,driver_version,uuid \
  --format=csv,noheader,nounits > "$OUT/smi.csv"
nvidia-smi > "$OUT/smi.txt"

"$PY" - "$OUT" "$start" "$end" <<'PY'
import csv, re, sys, tomllib
from pathlib import Path

out = Path(sys.argv[1])
lock = tomllib.loads((out / "gpu.lock").read_text())
smi = [[c.strip() for c in row] for row in csv.reader((out / "smi.csv").read_text().splitlines()) if row]
header = re.search(r"CUDA Version:\s*([0-9.]+)", (out / "smi.txt").read_text())
rows = []

def check(what, ours, theirs):
    rows.append((what, str(ours), str(theirs), "PASS" if str(ours) == str(theirs) else "FAIL"))

nv = lock.get("nvidia", {})
gpus = lock.get("hardware", {}).get("gpus", [])
check("nvidia.error", nv.get("error", "(no [nvidia])"), "")
check("driver_version", nv.get("driver_version"), smi[0][4] if smi else "")
check("cuda_driver_version", nv.get("cuda_driver_version"), header.group(1) if header else "?")
check("GPU count", len(gpus), len(smi))
for gpu, row in zip(gpus, smi):
    i = row[0]
    check(f"GPU {i} name", gpu.get("name"), row[1])
    check(f"GPU {i} compute_capability", gpu.get("compute_capability"), row[2])
    check(f"GPU {i} memory_mib", gpu.get("memory_mib"), row[3])
    check(f"GPU {i} uuid (--gpu-ids)", gpu.get("uuid"), row[5])
cuda = lock.get("cuda", {})
rows.append(("cuda.runtime", f"{cuda.get('runtime_version', '')} ({cuda.get('runtime_source', '')})", "-", "INFO"))
rows.append(("cuda.cudnn", f"{cuda.get('cudnn_version', '')} ({cuda.get('cudnn_source', '')})", "-", "INFO"))
for name, fw in sorted(lock.get("frameworks", {}).items()):
    if fw.get("deep"):
        ok = not fw.get("error")
        rows.append((f"{name} --deep", fw.get("error") or f"cuda_available={fw.get('cuda_available')} "
                     f"arch={','.join(fw.get('arch_list', []))}", "-", "PASS" if ok else "FAIL"))
        if ok and fw.get("cuda_version"):
            check(f"{name} cuda_available", fw.get("cuda_available"), True)
warnings = lock["envsnap"].get("warnings", [])
gpu_warnings = [w for w in warnings if w.startswith(("nvidia", "cuda", "frameworks"))]
check("GPU warnings", len(gpu_warnings), 0)
rows.append(("capture wall time (s)", f"{float(sys.argv[3]) - float(sys.argv[2]):.2f}", "-", "INFO"))

widths = [max(len(r[i]) for r in rows + [("check", "envsnap", "nvidia-smi", "result")]) for i in range(4)]
for r in [("check", "envsnap", "nvidia-smi", "result"), *rows]:
    print("  ".join(c.ljust(w) for c, w in zip(r, widths)))
for w in gpu_warnings:
    print("warning:", w)
sys.exit(1 if any(r[3] == "FAIL" for r in rows) else 0)
PY
