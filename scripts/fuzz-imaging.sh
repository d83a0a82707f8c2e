#!/usr/bin/env bash
# Fuzzes the PNG and JPEG decoders (Sources/CSupport/png_codec.c, jpeg_codec.c) with libFuzzer
# under AddressSanitizer and UndefinedBehaviorSanitizer.
#
#   scripts/fuzz-imaging.sh [seconds-per-target] [target...]
#
# Targets: png-decode, jpeg-decode (default: both), each run for 60 s by default. A thin
# wrapper around `scripts/fuzz.sh`, which builds and runs all fuzz targets (see that script
# and docs/RELIABILITY.md). The entry points are fuzz/<target>/fuzz_*.c, compiled with clang
# together with the codec sources and linked against the system libpng16 / libturbojpeg
# (those are not instrumented: the fuzzers exercise our wrappers and the way we drive the
# libraries, not the libraries' internals).
#
# The committed seeds in fuzz/<target>/seeds are read but never written: new corpus entries go
# to .build/fuzz-imaging/<target>/corpus, crashes to .build/fuzz-imaging/<target>/ as
# crash-*/leak-*/timeout-* files. Reproduce one with
#   .build/fuzz-imaging/<target>/fuzzer <artifact>
# then add it as a regression fixture under Tests/ImagingTests/Fixtures.
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
seconds="${1:-60}"
shift || true
targets=("$@")
[ ${#targets[@]} -eq 0 ] && targets=(png-decode jpeg-decode)
for t in "${targets[@]}"; do
    case "$t" in png-decode|jpeg-decode) ;; *) echo "unknown target: $t" >&2; exit 2 ;; esac
done
unset FUZZ_WORK
export FUZZ_WORK_DIR="${FUZZ_WORK_DIR:-$root/.build/fuzz-imaging}"
exec "$root/scripts/fuzz.sh" "$seconds" "${targets[@]}"
