#!/usr/bin/env bash
# Builds the HTTP request parser fuzzer with libFuzzer + AddressSanitizer and runs it
# for a bounded time (default 60 s), printing libFuzzer's execution statistics.
#
#   scripts/fuzz-http.sh [seconds]
#
# Only the parser's own source files are compiled (no sockets, OpenSSL or swift-log),
# so the build takes seconds. New inputs that grow coverage go to a scratch corpus in
# $FUZZ_WORK (default /tmp/vaeguard-fuzz-http); the committed seed corpus is read-only.
# Crashing inputs are written to $FUZZ_WORK/crash-*; turn each into a regression test
# in Tests/HTTPServerTests before fixing.
set -euo pipefail

seconds="${1:-60}"
root="$(cd "$(dirname "$0")/.." && pwd)"
src="$root/Sources/HTTPServer"
work="${FUZZ_WORK:-/tmp/vaeguard-fuzz-http}"
swiftc="${SWIFTC:-$(command -v swiftc || echo /opt/swift/usr/bin/swiftc)}"
mkdir -p "$work/corpus"

# The parser, its value types and the multipart parser: all free of I/O dependencies.
files=(
  HTTPStatus.swift HTTPMethod.swift HTTPHeaders.swift HTTPParseError.swift
  HTTPParser+Limits.swift HTTPParser.swift HTTPParser+Head.swift ChunkedDecoder.swift
  Multipart.swift HTTPRequest.swift HTTPResponse.swift HTTPError.swift
)
sources=()
for f in "${files[@]}"; do sources+=("$src/$f"); done

echo "building fuzzer with $swiftc"
rm -f "$work/fuzz-http-request"
"$swiftc" -sanitize=fuzzer,address -parse-as-library -O -swift-version 6 \
  -module-name HTTPFuzz "$root/fuzz/http-request/main.swift" "${sources[@]}" \
  -o "$work/fuzz-http-request" 2>&1 | grep -v "Cannot export local symbol" || true
test -x "$work/fuzz-http-request" || { echo "fuzzer build failed"; exit 1; }

echo "fuzzing for ${seconds}s"
cd "$work"
"$work/fuzz-http-request" -max_total_time="$seconds" -print_final_stats=1 -max_len=4096 \
  -artifact_prefix="$work/" "$work/corpus" "$root/fuzz/http-request/corpus" 2>&1 \
  | tee "$work/last-run.log" | grep -E "^#[0-9]+[[:space:]]+(INITED|DONE)|ERROR|SUMMARY|Test unit written" || true

status=${PIPESTATUS[0]}
grep -E "stat::number_of_executed_units|stat::average_exec_per_sec" "$work/last-run.log" || true
if ls "$work"/crash-* >/dev/null 2>&1; then
  echo "crash inputs found:"; ls "$work"/crash-*
  exit 1
fi
exit "$status"
