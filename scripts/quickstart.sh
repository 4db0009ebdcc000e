#!/usr/bin/env bash
# Installs the dependencies, builds kscope, then runs its main job with built-in defaults:
# `kscope doctor` (what this kernel supports), then `kscope trace exec` until Ctrl-C.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DKSCOPE_TESTS=OFF
cmake --build build -j"$(nproc)" --target kscope
build/cli/kscope doctor
exec build/cli/kscope trace exec
