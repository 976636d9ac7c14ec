#!/usr/bin/env bash
# The RO-Crate validator the artifact tests check the crate with (tests/paper/_roc_validate.py), in a venv of its
# own: it pins rich<14, which envsnap's terminal tests cannot run with, so it stays out of the test extra
# (docs/design.md, "Dependencies and why"). Idempotent: a venv whose marker is there is left alone; a half-made one
# (an interrupted run) is made again. Prints the venv's python.
set -euo pipefail
STATE="${ENVSNAP_SERVICES_DIR:-/var/tmp/envsnap-services}"
venv="$STATE/roc-validator"
if [[ ! -e "$venv/.complete" ]]; then
  mkdir -p "$STATE"
  rm -rf "$venv"
  python3 -m venv "$venv" >"$STATE/roc-validator.log" 2>&1
  # No index named: pip's own configuration says where packages come from.
  "$venv/bin/python" -m pip install -q 'roc-validator>=0.13' 'rocrate>=0.10' >>"$STATE/roc-validator.log" 2>&1 \
    || { echo "roc-validator could not be installed: see $STATE/roc-validator.log" >&2; exit 1; }
  touch "$venv/.complete"
fi
echo "$venv/bin/python"
