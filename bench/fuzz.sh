#!/usr/bin/env bash
# The long fuzz runs: every libFuzzer target of tests/fuzz for SECONDS each (default 300),
# one after another, each from its corpus of earlier runs, its seeds and its regressions.
# CI runs each for 10 s only (scripts/test.sh); this is where they get their minutes.
# A crash, sanitizer report, leak or timeout stops the run: its input is in
# BUILD/tests/fuzz/artifacts/; once fixed it goes into tests/fuzz/regressions/TARGET/ so that
# every later run (CI's too) tries it first. Writes bench/results/fuzz-DATE.md.
# Needs the sanitizer build: cmake -S . -B build-san -G Ninja -DCMAKE_BUILD_TYPE=Debug
#   -DKSCOPE_TESTS=ON -DKSCOPE_FUZZ=ON -DCMAKE_C_COMPILER=clang-19 -DCMAKE_CXX_COMPILER=clang++-19
# Usage: bench/fuzz.sh [SECONDS] [TARGET...]   (BUILD_SAN=dir, default build-san)
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-300}
shift || true
build=${BUILD_SAN:-build-san}
fuzz=$build/tests/fuzz
targets=("$@")
[[ ${#targets[@]} -gt 0 ]] || targets=(decode replay http config stream filter ipfix)

cmake --build "$build" --target kscope_fuzz_seeds $(printf '%s_fuzz ' "${targets[@]}") >/dev/null
"$fuzz/kscope_fuzz_seeds" "$fuzz/corpus/seeds" >/dev/null
mkdir -p "$fuzz/artifacts" bench/results
report=bench/results/fuzz-$(date +%Y%m%d-%H%M%S).md
{
  echo "# Fuzzing: $seconds s per target ($(date -u +%Y-%m-%dT%H:%M:%SZ), $(git rev-parse --short HEAD))"
  echo
  echo "| target | runs | execs/s | coverage (edges) | features | corpus | crashes |"
  echo "|---|---|---|---|---|---|---|"
} >"$report"

for t in "${targets[@]}"; do
  inputs=("$fuzz/corpus/$t")
  [[ -d $fuzz/corpus/seeds/$t ]] && inputs+=("$fuzz/corpus/seeds/$t")
  for dir in seeds regressions; do [[ -d tests/fuzz/$dir/$t ]] && inputs+=("tests/fuzz/$dir/$t"); done
  mkdir -p "$fuzz/corpus/$t"
  echo "fuzz.sh: $t for $seconds s" >&2
  rc=0
  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 ASAN_OPTIONS=detect_leaks=1 \
    "$fuzz/${t}_fuzz" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
    -print_final_stats=1 -artifact_prefix="$fuzz/artifacts/$t-" "${inputs[@]}" \
    >"$fuzz/$t.log" 2>&1 || rc=$?
  runs=$(awk '/stat::number_of_executed_units/ {print $2}' "$fuzz/$t.log")
  speed=$(awk '/stat::average_exec_per_sec/ {print $2}' "$fuzz/$t.log")
  last=$(grep -E '^#[0-9]+' "$fuzz/$t.log" | tail -1)
  cov=$(sed -nE 's/.* cov: ([0-9]+).*/\1/p' <<<"$last")
  ft=$(sed -nE 's/.* ft: ([0-9]+).*/\1/p' <<<"$last")
  corp=$(sed -nE 's/.* corp: ([0-9]+\/[0-9a-zA-Z]+).*/\1/p' <<<"$last")
  crashes=0
  [[ $rc -eq 0 ]] || crashes=1
  echo "| $t | ${runs:-?} | ${speed:-?} | ${cov:-?} | ${ft:-?} | ${corp:-?} | $crashes |" >>"$report"
  if [[ $rc -ne 0 ]]; then
    tail -40 "$fuzz/$t.log" >&2
    echo "fuzz.sh: $t failed (exit $rc); its input is in $fuzz/artifacts/ — fix it, then keep it in tests/fuzz/regressions/$t/" >&2
    echo >>"$report"
    echo "$t failed: $(grep -m1 -E 'ERROR|SUMMARY|Test unit written' "$fuzz/$t.log")" >>"$report"
    cat "$report"
    exit 1
  fi
done
cat "$report"
