#!/usr/bin/env bash
# latentkit's whole test command (README.md, .ci/run): three suites, one after the other.
#
#   1. the default build and every ctest test (runtime, C API, trainer, CLI, device under qemu);
#   2. the runtime, C API and CLI suites again under AddressSanitizer + UndefinedBehaviorSanitizer
#      (the `asan` preset; -fno-sanitize-recover: any report fails its test);
#   3. each libFuzzer target for FUZZ_SECONDS (default 60) from its seed corpus, with every
#      saved regression input replayed first (tools/fuzz/run_fuzzers.sh).
#
# Expects tools/setup.sh to have run (packages and data). Stops at the first failing suite.
# Run one part: `ctest --preset default -L runtime` (labels: runtime, c_api, trainer, cli,
# device), `ctest --preset asan -L runtime`, `tools/fuzz/run_fuzzers.sh 60 fuzz_model`.
set -euo pipefail
cd "$(dirname "$0")/.."

cmake --preset default
cmake --build --preset default
ctest --preset default

cmake --preset asan
cmake --build --preset asan
# The install tests build the C example against an installed tree with the system compiler
# flags, and the device tests are the qemu comparison; both are covered by suite 1.
ctest --preset asan -L 'runtime|c_api|cli' -E 'install'

bash tools/fuzz/run_fuzzers.sh "${FUZZ_SECONDS:-60}"
