#!/usr/bin/env bash
# Runs latentkit's libFuzzer targets (tests/fuzz/, docs/fuzzing.md).
#
#   tools/fuzz/run_fuzzers.sh SECONDS [TARGET...]     targets: fuzz_model fuzz_idx fuzz_png
#                                                      (default: all three)
#
# Configures and builds the `fuzz` preset (build/fuzz) when needed, writes the seed corpora
# (build/fuzz/seeds/TARGET, regenerated every time), replays every file of
# tests/fuzz/regressions/TARGET/ once, then fuzzes each target with its growing corpus in
# build/fuzz/corpus/TARGET. Each named target fuzzes for SECONDS, one after the other. With no
# target named (what CI runs) fuzz_model fuzzes for SECONDS on one core while fuzz_idx and then
# fuzz_png take SECONDS / 2 each (at least 1) on the other, so the whole run takes SECONDS; their
# parsers are small and their coverage levels off early (docs/fuzzing.md). Crashes, leaks, timeouts and
# out-of-memory inputs land in build/fuzz/artifacts/TARGET/. Prints per target the seconds, the
# executions, the corpus size and the coverage of libFuzzer's last status line; exits 1 if a
# target crashed or a regression input failed, 2 on a usage or build error.
#
# CI: tools/fuzz/run_fuzzers.sh 60
# Environment: JOBS (build parallelism, default 2), FUZZ_ARGS (extra libFuzzer flags).
set -euo pipefail

usage() {
  sed -n '2,/^set -euo/p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//' >&2
  exit 2
}

[[ $# -ge 1 && $1 =~ ^[0-9]+$ && $1 -gt 0 ]] || usage
seconds=$1
shift
all_targets=(fuzz_model fuzz_idx fuzz_png)
targets=("$@")
shared_budget=0
if [[ ${#targets[@]} -eq 0 ]]; then
  targets=("${all_targets[@]}")
  shared_budget=1
fi
for t in "${targets[@]}"; do
  [[ " ${all_targets[*]} " == *" $t "* ]] || { echo "run_fuzzers: unknown target '$t' (known: ${all_targets[*]})" >&2; exit 2; }
done

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
build=$root/build/fuzz
cd "$root"

# Per-target libFuzzer settings: largest input (the seed-000 decoder in fp32 is 170 KB).
max_len_for() {
  case $1 in
    fuzz_model) echo 262144 ;;
    fuzz_idx) echo 8192 ;;
    fuzz_png) echo 16384 ;;
  esac
}

# Seconds of fuzzing for a target (see the top of this file).
seconds_for() {
  if [[ $shared_budget -eq 1 && $1 != fuzz_model ]]; then
    echo $(((seconds + 1) / 2))
  else
    echo "$seconds"
  fi
}

# ---- build ---------------------------------------------------------------------------------
if [[ ! -f $build/CMakeCache.txt ]]; then
  cmake --preset fuzz || exit 2
fi
cmake --build --preset fuzz -j "${JOBS:-2}" --target fuzz_make_corpus "${targets[@]}" || exit 2

# ---- seeds ---------------------------------------------------------------------------------
rm -rf "$build/seeds"
"$build/tests/fuzz/fuzz_make_corpus" "$build/seeds" || exit 2
# Real exports, when the default build's tests have made them (a trained CVAE in fp32 and int8,
# the seed-000 decoder in every quantisation mode): tests/device writes them there.
for model in "$root"/build/default/tests/device/models/*.lkm; do
  [[ -f $model ]] && cp "$model" "$build/seeds/fuzz_model/export-$(basename "$model")"
done

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

failed=0

# ---- regressions: every stored crash input, once ------------------------------------------------
for t in "${targets[@]}"; do
  dir=$root/tests/fuzz/regressions/$t
  [[ -d $dir ]] || continue
  mapfile -t files < <(find "$dir" -type f ! -name '*.md' | sort)
  [[ ${#files[@]} -gt 0 ]] || continue
  log=$build/logs/$t-regressions.log
  mkdir -p "$build/logs"
  echo "== $t: replaying ${#files[@]} regression input(s) from tests/fuzz/regressions/$t"
  # Given files (not folders), libFuzzer runs each once and stops at the first failure.
  if ! "$build/tests/fuzz/$t" -timeout=10 -rss_limit_mb=2048 "${files[@]}" >"$log" 2>&1; then
    echo "   FAILED (log: $log):"
    grep -E "ERROR:|SUMMARY:|broken invariant|Running:" "$log" | tail -5 | sed 's/^/     /'
    failed=1
  else
    echo "   all passed"
  fi
done

# ---- fuzzing -----------------------------------------------------------------------------------
# fuzz_one TARGET: fuzzes TARGET for its seconds, prints what happened, writes its summary line
# to $build/logs/TARGET.summary; returns 1 if the target failed.
fuzz_one() {
  local t=$1
  local corpus=$build/corpus/$t artifacts=$build/artifacts/$t log=$build/logs/$t.log
  local t_seconds rc before after status_line execs cov ft files bytes result
  t_seconds=$(seconds_for "$t")
  mkdir -p "$corpus" "$artifacts" "$build/logs"
  echo "== $t: fuzzing for $t_seconds s (corpus $corpus, log $log)"
  before=$(find "$artifacts" -type f | wc -l)
  set +e
  # shellcheck disable=SC2086
  "$build/tests/fuzz/$t" -max_total_time="$t_seconds" -timeout=10 -rss_limit_mb=2048 \
    -max_len="$(max_len_for "$t")" -artifact_prefix="$artifacts/" -print_final_stats=1 \
    ${FUZZ_ARGS:-} "$corpus" "$build/seeds/$t" >"$log" 2>&1
  rc=$?
  set -e
  status_line=$(grep -E '^#[0-9]+' "$log" | tail -1 || true)
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  [[ -n $execs ]] || execs=$(sed -n 's/^#\([0-9]*\).*/\1/p' <<<"$status_line")
  cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$status_line")
  ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$status_line")
  # libFuzzer only adds files: keep the corpus minimal (what reaches the same coverage) so that
  # it does not grow without bound from run to run.
  if [[ $rc -eq 0 ]]; then
    rm -rf "$corpus.merge" && mkdir -p "$corpus.merge"
    if "$build/tests/fuzz/$t" -merge=1 -timeout=10 -rss_limit_mb=2048 -max_len="$(max_len_for "$t")" \
         "$corpus.merge" "$corpus" >"$build/logs/$t-merge.log" 2>&1; then
      rm -rf "$corpus" && mv "$corpus.merge" "$corpus"
    else
      rm -rf "$corpus.merge"
    fi
  fi
  files=$(find "$corpus" -type f | wc -l)
  bytes=$(du -sk "$corpus" | cut -f1)
  result=ok
  [[ $rc -eq 0 ]] || result="FAILED (exit $rc)"
  printf '%-10s %4s s  execs %-9s cov %-6s ft %-6s corpus %s files (%s KiB)  %s\n' \
    "$t" "$t_seconds" "${execs:-?}" "${cov:-?}" "${ft:-?}" "$files" "$bytes" "$result" >"$build/logs/$t.summary"
  if [[ $rc -ne 0 ]]; then
    grep -E "ERROR:|SUMMARY:|broken invariant|^    #[0-9]+ " "$log" | head -12 | sed 's/^/   /'
  fi
  after=$(find "$artifacts" -type f | wc -l)
  if [[ $after -gt $before ]]; then
    echo "   new artifacts:"
    find "$artifacts" -type f -printf '%T@ %p\n' | sort -n | tail -n $((after - before)) | cut -d' ' -f2 | sed 's/^/     /'
  fi
  [[ $rc -eq 0 ]]
}

mkdir -p "$build/logs"
rm -f "$build"/logs/*.summary
if [[ $shared_budget -eq 1 ]]; then
  # Two lanes, one per core: fuzz_model beside fuzz_idx then fuzz_png, so the whole run takes
  # SECONDS of wall time (each lane's output is printed when both are done).
  lane_model=$build/logs/lane-model.out lane_files=$build/logs/lane-files.out
  fuzz_one fuzz_model >"$lane_model" 2>&1 &
  model_pid=$!
  lane_failed=0
  { fuzz_one fuzz_idx || lane_failed=1; fuzz_one fuzz_png || lane_failed=1; } >"$lane_files" 2>&1
  wait "$model_pid" || failed=1
  [[ $lane_failed -eq 0 ]] || failed=1
  cat "$lane_model" "$lane_files"
else
  for t in "${targets[@]}"; do
    fuzz_one "$t" || failed=1
  done
fi

echo
echo "== summary"
for t in "${targets[@]}"; do cat "$build/logs/$t.summary" 2>/dev/null || echo "$t: no summary (see $build/logs/$t.log)"; done
crashes=$(find "$build/artifacts" -type f \( -name 'crash-*' -o -name 'leak-*' -o -name 'timeout-*' -o -name 'oom-*' \) 2>/dev/null | sort || true)
if [[ -n $crashes ]]; then
  echo
  echo "artifacts in build/fuzz/artifacts (this run and earlier ones; reproduce with build/fuzz/tests/fuzz/TARGET FILE):"
  sed 's/^/  /' <<<"$crashes"
fi
if [[ $failed -ne 0 ]]; then
  echo "run_fuzzers: FAILED" >&2
  exit 1
fi
echo "run_fuzzers: no crashes"
