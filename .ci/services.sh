#!/usr/bin/env bash
# Start what the docker integration tests use: a Docker engine and a debootstrap'd Debian base image; install what
# the fleet tests use: Slurm and munge (each test session starts its own cluster on localhost under a temporary
# directory, tests/fleet/slurm_cluster.py, so nothing of Slurm is started here).
# Idempotent and quick when already done: an answering engine and an existing image are left alone.
set -euo pipefail

BASE_IMAGE="${ENVSNAP_BASE_IMAGE:-envsnap-base:bookworm}"
STATE="${ENVSNAP_SERVICES_DIR:-/var/tmp/envsnap-services}"
mkdir -p "$STATE"

need=()
command -v dockerd >/dev/null || need+=(docker.io)
command -v debootstrap >/dev/null || need+=(debootstrap)
# The engine tests capture a venv of Debian's own python3.11, the interpreter the bookworm base gets from apt.
[[ -x /usr/bin/python3.11 ]] || need+=(python3.11 python3.11-venv)
# The legacy-install probe test captures Debian's own python3-numpy (apt's, not pip's): the BLAS it loads through
# dpkg's file lists (tests/probes/test_legacy_installs.py).
[[ -e /var/lib/dpkg/info/python3-numpy.list ]] || need+=(python3-numpy)
# The fleet tests run a real Slurm cluster (one slurmctld, several slurmd -N) with munge authentication.
for program in slurmctld:slurmctld slurmd:slurmd srun:slurm-client munged:munge; do
  command -v "${program%%:*}" >/dev/null || [[ -x "/usr/sbin/${program%%:*}" ]] || need+=("${program#*:}")
done
# pdflatex compiles the LaTeX appendix in its test; without it that test says so and checks the syntax only.
optional=()
command -v pdflatex >/dev/null || optional+=(texlive-latex-base texlive-latex-recommended)
if ((${#need[@]} + ${#optional[@]})); then
  echo "services: installing ${need[*]} ${optional[*]}"
  apt-get update -q >"$STATE/apt.log" 2>&1
fi
if ((${#need[@]})); then
  # Where the packages' own services start on install, they use /etc and the default ports and sockets; the
  # test cluster uses its own, so the two never meet.
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${need[@]}" >>"$STATE/apt.log" 2>&1
fi
if ((${#optional[@]})); then
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${optional[@]}" >>"$STATE/apt.log" 2>&1 \
    || echo "services: could not install TeX (see $STATE/apt.log); the pdflatex test will be skipped" >&2
fi

# The RO-Crate validator of the artifact tests, in a venv of its own (.ci/roc-validator.sh says why).
bash "$(dirname "$0")/roc-validator.sh" >/dev/null || echo "services: could not make roc-validator's venv" >&2

if ! docker info >/dev/null 2>&1; then
  echo "services: starting dockerd (log: $STATE/dockerd.log)"
  # No iptables in this sandbox; builds use --network host, so no NAT is needed.
  setsid nohup dockerd --iptables=false --ip-masq=false >"$STATE/dockerd.log" 2>&1 </dev/null &
  for _ in $(seq 1 60); do
    docker info >/dev/null 2>&1 && break
    sleep 1
  done
  docker info >/dev/null 2>&1 || { echo "services: dockerd did not answer; see $STATE/dockerd.log" >&2; exit 1; }
fi

if ! docker image inspect "$BASE_IMAGE" >/dev/null 2>&1; then
  echo "services: building $BASE_IMAGE with debootstrap (a few minutes; log: $STATE/debootstrap.log)"
  root="$STATE/rootfs"
  rm -rf "$root"
  # No mirror argument: debootstrap uses its own default archive (the repository names no package host).
  debootstrap --variant=minbase bookworm "$root" >"$STATE/debootstrap.log" 2>&1
  tar -C "$root" -c . | docker import - "$BASE_IMAGE" >/dev/null
  rm -rf "$root"
fi
echo "services: docker engine up, base image $BASE_IMAGE present"
