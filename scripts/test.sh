#!/usr/bin/env bash
# Installs the dependencies, builds kscope, and runs every test tier: unit, privileged, e2e,
# and vm (the privileged tier again inside QEMU on Debian's 6.1 kernels). Then rebuilds with
# AddressSanitizer + UndefinedBehaviorSanitizer and runs the unit and privileged tiers again,
# and last builds the libFuzzer targets with clang-19 and runs each for KSCOPE_FUZZ_SECONDS
# (default 20). The README's test command, and the only thing .ci/run calls.
# KSCOPE_SKIP_SANITIZERS=1 / KSCOPE_SKIP_FUZZ=1 leave those parts out.
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

if [ "${KSCOPE_SKIP_FUZZ:-0}" != 1 ]; then
  cmake -S . -B build-fuzz -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DKSCOPE_FUZZ=ON \
    -DCMAKE_C_COMPILER=clang-19 -DCMAKE_CXX_COMPILER=clang++-19 \
    -DKSCOPE_FUZZ_SECONDS="${KSCOPE_FUZZ_SECONDS:-20}"
  cmake --build build-fuzz -j"$jobs"
  (cd build-fuzz && ctest --output-on-failure --timeout 600 -L fuzz)
fi
