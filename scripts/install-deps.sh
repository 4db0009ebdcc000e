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
  libfmt-dev libcli11-dev libboost-dev prometheus-cpp-dev libyaml-cpp-dev
  librdkafka-dev  # the Kafka sink's client (and the mock cluster its tests run)
  libssl-dev  # TLS for the metrics endpoint, the stream and kscope observe (Boost.Asio's ssl)
  # tests
  libgtest-dev libgmock-dev python3 iproute2 util-linux
  prometheus  # kscope collect's e2e test: a real Prometheus server scrapes it; promtool checks metrics
  openssl  # the TLS e2e test makes its CA and certificates, and reads the served one (s_client)
  python3-yaml  # tests/dashboards reads the alert rules
  python3-matplotlib  # dashboards/render.py draws the dashboards from Prometheus (docs/dashboards.md)
  yamllint systemd  # deploy/'s lint test: yamllint, and systemd-analyze verify of the unit
  nfdump pmacct  # the IPFIX sink's tests: real collectors (nfcapd/nfdump, nfacctd) read it back
  kcat  # the Kafka sink's tests consume what it produced with a real client
  gcc-multilib  # abi_known32: the privileged tests' 32-bit (ia32) task
  chromium  # trace profile's e2e test renders the SVG flame graph headless
  # the fuzz tier: libFuzzer; clang >= 19 compiles libstdc++ 12's <expected>
  clang-19 libclang-rt-19-dev
  # the vm tier: QEMU, and what its initramfs is made of
  qemu-system-x86 busybox-static cpio
  # benchmarks: the peers kscope is measured against, and bench/flows.sh's traffic
  libbpf-tools bpftrace softflowd iperf3
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
export DEBIAN_FRONTEND=noninteractive
updated=0
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} packages already installed"
else
  echo "install-deps: installing ${missing[*]}"
  apt-get update -qq && updated=1
  apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# The vm tier boots Debian's 6.1 kernels (generic, cloud, PREEMPT_RT), which have kprobes
# and fentry. They are unpacked, not installed: nothing changes this machine's boot.
# Each flavour's directory keeps the package it came from; a newer ABI replaces it.
vm_kernels=/var/lib/kscope/vm-kernels
# The versioned package a flavour's metapackage depends on (linux-image-6.1.0-NN-FLAVOUR).
kernel_package() {
  apt-cache depends "linux-image-$1" 2>/dev/null |
    sed -n 's/^ *Depends: \(linux-image-[^ ]*\)$/\1/p' | head -1
}
for flavour in amd64 cloud-amd64 rt-amd64; do
  dir=$vm_kernels/$flavour
  [ -f "$dir/package" ] && [ "$updated" = 0 ] && continue  # unpacked before; no new lists
  pkg=$(kernel_package "$flavour")
  if [ -z "$pkg" ] && [ "$updated" = 0 ]; then
    apt-get update -qq && updated=1
    pkg=$(kernel_package "$flavour")
  fi
  [ -n "$pkg" ] || { echo "install-deps: no linux-image-$flavour in the archive" >&2; exit 1; }
  [ "$(cat "$dir/package" 2>/dev/null)" = "$pkg" ] && continue
  echo "install-deps: unpacking $pkg into $dir for the vm tier"
  tmp=$(mktemp -d)
  chown _apt "$tmp" 2>/dev/null || true  # apt downloads as _apt where it can
  (cd "$tmp" && apt-get download -qq "$pkg")
  rm -rf "$dir" && mkdir -p "$dir"
  dpkg-deb -x "$tmp"/*.deb "$dir"
  rm -rf "$tmp"
  echo "$pkg" >"$dir/package"
done

# deploy/'s lint test validates the Kubernetes manifests with the npm packages of
# kubernetes-models (the API's OpenAPI schemas), pinned in deploy/lint/package-lock.json.
# npm may come with Node.js from elsewhere; Debian's npm only where there is none (it would
# conflict with another Node.js).
if ! command -v npm >/dev/null; then
  [ "$updated" = 1 ] || { apt-get update -qq && updated=1; }
  apt-get install -y -qq --no-install-recommends npm
fi
lint_dir=$(cd "$(dirname "$0")/.." && pwd)/deploy/lint
if [ ! -f "$lint_dir/node_modules/.package-lock.json" ] ||
   [ "$lint_dir/package-lock.json" -nt "$lint_dir/node_modules/.package-lock.json" ]; then
  echo "install-deps: npm ci in deploy/lint"
  npm ci --prefix "$lint_dir" --no-audit --no-fund --loglevel=error
fi
