#!/usr/bin/env bash
# Builds the HTTP request parser fuzzer (fuzz/http-request) with libFuzzer + AddressSanitizer
# and runs it for a bounded time (default 60 s), printing libFuzzer's execution statistics.
#
#   scripts/fuzz-http.sh [seconds]
#
# A thin wrapper around `scripts/fuzz.sh [seconds] http-request`, which builds and runs all
# fuzz targets (see that script and docs/RELIABILITY.md). Only the parser's own source files
# are compiled (no sockets, OpenSSL or swift-log), so the build takes seconds. New inputs
# that grow coverage go to a scratch corpus in $FUZZ_WORK/corpus (default
# /tmp/vaeguard-fuzz-http); the committed seed corpus is read-only. Crashing inputs are
# written to $FUZZ_WORK/crash-*; turn each into a regression test in Tests/HTTPServerTests.
set -euo pipefail
export FUZZ_WORK="${FUZZ_WORK:-/tmp/vaeguard-fuzz-http}"
exec "$(dirname "$0")/fuzz.sh" "${1:-60}" http-request
