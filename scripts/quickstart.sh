#!/usr/bin/env bash
# Installs the dependencies, builds kscope, then runs its main job with built-in defaults:
# `kscope doctor` (what this kernel supports), then the collector, `kscope collect`, until
# Ctrl-C: its metrics at http://127.0.0.1:9437/metrics (docs/metrics.md).
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DKSCOPE_TESTS=OFF
cmake --build build -j"$(nproc)" --target kscope
build/cli/kscope doctor
exec build/cli/kscope collect
