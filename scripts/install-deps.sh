#!/usr/bin/env bash
# Installs every build, test and benchmark dependency from Debian's archive. Idempotent: a
# second run installs nothing new. The only place in kscope that installs packages.
set -euo pipefail

if [ "$(id -u)" -ne 0 ]; then
  echo "install-deps: run as root (apt-get needs it): sudo $0" >&2
  exit 1
fi

packages=(
  # build
  build-essential cmake ninja-build pkg-config
  clang llvm  # the BPF target compiler
  libbpf-dev bpftool libelf-dev zlib1g-dev
  libfmt-dev libcli11-dev libboost-dev prometheus-cpp-dev
  # tests
  libgtest-dev libgmock-dev python3 iproute2 util-linux
  # benchmarks: the peers kscope is measured against
  libbpf-tools bpftrace
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} packages already installed"
  exit 0
fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}"
