#!/usr/bin/env bash
# Fuzzes the PNG and JPEG decoders (Sources/CSupport/png_codec.c, jpeg_codec.c) with libFuzzer
# under AddressSanitizer and UndefinedBehaviorSanitizer.
#
#   scripts/fuzz-imaging.sh [seconds-per-target] [target...]
#
# Targets: png-decode, jpeg-decode (default: both), each run for 60 s by default. The entry
# points are fuzz/<target>/fuzz_*.c, compiled with clang together with the codec sources and
# linked against the system libpng16 / libturbojpeg (those are not instrumented: the fuzzers
# exercise our wrappers and the way we drive the libraries, not the libraries' internals).
#
# The committed seeds in fuzz/<target>/seeds are read but never written: new corpus entries go
# to .build/fuzz-imaging/<target>/corpus, crashes to .build/fuzz-imaging/<target>/ as
# crash-*/leak-*/timeout-* files. Reproduce one with
#   .build/fuzz-imaging/<target>/fuzzer <artifact>
# then add it as a regression fixture under Tests/ImagingTests/Fixtures.
set -euo pipefail

SECONDS_PER_TARGET="${1:-60}"
shift || true
TARGETS=("$@")
[ ${#TARGETS[@]} -eq 0 ] && TARGETS=(png-decode jpeg-decode)

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
CLANG="${CLANG:-/opt/swift/usr/bin/clang}"
command -v "$CLANG" >/dev/null || CLANG=clang
OUT="$ROOT/.build/fuzz-imaging"
LD=()
command -v "$(dirname "$CLANG")/ld.lld" >/dev/null 2>&1 && LD=(-fuse-ld=lld)
CFLAGS=(-g -O1 -fno-omit-frame-pointer -fsanitize=fuzzer,address,undefined "${LD[@]}"
        -fno-sanitize-recover=undefined -I"$ROOT/Sources/CSupport/include")

declare -A SOURCES=(
    [png-decode]="fuzz/png-decode/fuzz_png_decode.c Sources/CSupport/png_codec.c"
    [jpeg-decode]="fuzz/jpeg-decode/fuzz_jpeg_decode.c Sources/CSupport/jpeg_codec.c"
)
declare -A LIBS=([png-decode]="-lpng16 -lz" [jpeg-decode]="-lturbojpeg")
declare -A DICTS=([png-decode]="fuzz/png-decode/png.dict" [jpeg-decode]="fuzz/jpeg-decode/jpeg.dict")

summary=()
status=0
for target in "${TARGETS[@]}"; do
    [ -n "${SOURCES[$target]:-}" ] || { echo "unknown target: $target" >&2; exit 2; }
    dir="$OUT/$target"
    mkdir -p "$dir/corpus"
    echo "== building $target"
    # shellcheck disable=SC2086
    (cd "$ROOT" && "$CLANG" "${CFLAGS[@]}" ${SOURCES[$target]} ${LIBS[$target]} -o "$dir/fuzzer")
    echo "== fuzzing $target for ${SECONDS_PER_TARGET}s"
    log="$dir/fuzz.log"
    set +e
    # -malloc_limit_mb: the harnesses cap images at 65536 pixels, so any single allocation
    # over 64 MB is a memory-exhaustion bug (this is how the 2 GB tEXt chunk was found).
    (cd "$dir" && ./fuzzer -max_total_time="$SECONDS_PER_TARGET" -timeout=5 -rss_limit_mb=2048 \
        -malloc_limit_mb=64 \
        -max_len=65536 -dict="$ROOT/${DICTS[$target]}" -artifact_prefix="$dir/" \
        -print_final_stats=1 corpus "$ROOT/fuzz/$target/seeds") >"$log" 2>&1
    rc=$?
    set -e
    execs=$(awk '/stat::number_of_executed_units/ { print $2 }' "$log")
    rate=$(awk '/stat::average_exec_per_sec/ { print $2 }' "$log")
    cov=$(grep -Eo 'cov: [0-9]+' "$log" | tail -1 | awk '{ print $2 }')
    slowest=$(awk '/stat::slowest_unit_time_sec/ { print $2 }' "$log")
    rss=$(awk '/stat::peak_rss_mb/ { print $2 }' "$log")
    corpus=$(find "$dir/corpus" -type f | wc -l)
    if [ $rc -ne 0 ]; then
        status=1
        echo "!! $target failed (exit $rc); see $log" >&2
        grep -E "ERROR|SUMMARY|Test unit written" "$log" >&2 || tail -20 "$log" >&2
    fi
    summary+=("$target: ${execs:-?} execs in ${SECONDS_PER_TARGET}s (${rate:-?}/s), coverage ${cov:-?} edges, corpus $corpus files, slowest ${slowest:-?}s, peak RSS ${rss:-?} MB, exit $rc")
done

echo
printf '%s\n' "${summary[@]}"
exit $status
