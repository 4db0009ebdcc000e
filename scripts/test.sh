#!/usr/bin/env bash
# Installs the dependencies, builds kscope, and runs every test tier: unit, privileged, e2e.
# Then rebuilds with AddressSanitizer + UndefinedBehaviorSanitizer and runs the unit and
# privileged tiers again. The README's test command, and the only thing .ci/run calls.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh
jobs=$(nproc)

cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release -DKSCOPE_TESTS=ON -DKSCOPE_WERROR=ON
cmake --build build -j"$jobs"
(cd build && ctest --output-on-failure --timeout 600)

if [ "${KSCOPE_SKIP_SANITIZERS:-0}" != 1 ]; then
  cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=Debug -DKSCOPE_TESTS=ON -DKSCOPE_SANITIZE=ON
  cmake --build build-asan -j"$jobs"
  (cd build-asan && ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
    ctest --output-on-failure --timeout 600 -L 'unit|privileged')
fi
