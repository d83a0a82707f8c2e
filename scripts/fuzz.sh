#!/usr/bin/env bash
# Builds every libFuzzer target, runs each one after the other for a bounded time, and
# prints a summary table (also written to runs/fuzz/summary-<timestamp>.md).
#
#   scripts/fuzz.sh [seconds-per-target] [target...]
#
# Targets (default: all, 60 s each):
#   http-request  HTTP/1.1 request parser        fuzz/http-request/main.swift   (Swift)
#   multipart     multipart/form-data + boundary fuzz/multipart/main.swift      (Swift)
#   request-json  Open Inference v2 infer body   fuzz/request-json/main.swift   (Swift)
#   png-decode    PNG decoder wrapper            fuzz/png-decode/fuzz_png_decode.c   (C)
#   jpeg-decode   JPEG decoder wrapper           fuzz/jpeg-decode/fuzz_jpeg_decode.c (C)
#
# Swift targets are compiled with `swiftc -sanitize=fuzzer,address -parse-as-library`
# together with only the source files they exercise (no sockets, OpenSSL, swift-log or
# model code), so a build takes seconds. C targets are compiled with clang under
# ASan + UBSan and linked against the system libpng16 / libturbojpeg (not instrumented:
# they fuzz our wrappers and how we drive the libraries).
#
# The committed seed corpora (fuzz/<target>/corpus or fuzz/<target>/seeds) are read but
# never written. Each target works in $FUZZ_WORK_DIR/<target> (default .build/fuzz/<target>):
# the fuzzer binary, a scratch corpus that grows across runs, fuzz.log, and crash-*, leak-*,
# timeout-*, oom-* artifacts. With a single target, $FUZZ_WORK names that directory
# itself. Reproduce a crash with `<dir>/fuzzer <artifact>`, fix it, add a regression test,
# and copy the input into the target's committed corpus.
#
# Environment: SWIFTC, CLANG (compilers), FUZZ_WORK_DIR, FUZZ_WORK, FUZZ_SUMMARY_DIR
# (default runs/fuzz; empty string: do not write a summary file).
set -euo pipefail

SECONDS_PER_TARGET="${1:-60}"
shift || true
ALL_TARGETS=(http-request multipart request-json png-decode jpeg-decode)
TARGETS=("$@")
[ ${#TARGETS[@]} -eq 0 ] && TARGETS=("${ALL_TARGETS[@]}")

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
WORK_ROOT="${FUZZ_WORK_DIR:-$ROOT/.build/fuzz}"
SUMMARY_DIR="${FUZZ_SUMMARY_DIR-$ROOT/runs/fuzz}"
SWIFTC="${SWIFTC:-$(command -v swiftc || echo /opt/swift/usr/bin/swiftc)}"
CLANG="${CLANG:-/opt/swift/usr/bin/clang}"
command -v "$CLANG" >/dev/null || CLANG=clang
LD=()
command -v "$(dirname "$CLANG")/ld.lld" >/dev/null 2>&1 && LD=(-fuse-ld=lld)

# The HTTPServer files free of I/O: parser, value types, multipart.
HTTP_SOURCES=(HTTPStatus HTTPMethod HTTPHeaders HTTPParseError HTTPParser+Limits HTTPParser
              HTTPParser+Head ChunkedDecoder Multipart HTTPRequest HTTPResponse HTTPError)
http_sources() { for f in "${HTTP_SOURCES[@]}"; do printf '%s\n' "Sources/HTTPServer/$f.swift"; done; }

declare -A KIND=([http-request]=swift [multipart]=swift [request-json]=swift [png-decode]=c [jpeg-decode]=c)
declare -A EXTRA_SOURCES=(
    [request-json]="Sources/Service/OpenInference+Request.swift Sources/Service/OpenInference+JSON.swift"
    [png-decode]="fuzz/png-decode/fuzz_png_decode.c Sources/CSupport/png_codec.c"
    [jpeg-decode]="fuzz/jpeg-decode/fuzz_jpeg_decode.c Sources/CSupport/jpeg_codec.c"
)
declare -A LIBS=([png-decode]="-lpng16 -lz" [jpeg-decode]="-lturbojpeg")
declare -A SEEDS=([http-request]=fuzz/http-request/corpus [multipart]=fuzz/multipart/corpus
                  [request-json]=fuzz/request-json/corpus [png-decode]=fuzz/png-decode/seeds
                  [jpeg-decode]=fuzz/jpeg-decode/seeds)
declare -A DICTS=([multipart]=fuzz/multipart/multipart.dict [request-json]=fuzz/request-json/request-json.dict
                  [png-decode]=fuzz/png-decode/png.dict [jpeg-decode]=fuzz/jpeg-decode/jpeg.dict)
declare -A MAX_LEN=([http-request]=4096 [multipart]=4096 [request-json]=16384
                    [png-decode]=65536 [jpeg-decode]=65536)

build() { # target dir
    local target=$1 dir=$2
    rm -f "$dir/fuzzer"
    if [ "${KIND[$target]}" = swift ]; then
        local sources=()
        mapfile -t sources < <(http_sources)
        # shellcheck disable=SC2206
        sources+=(${EXTRA_SOURCES[$target]:-})
        local module
        module="Fuzz$(echo "$target" | tr -d -)"
        (cd "$ROOT" && "$SWIFTC" -sanitize=fuzzer,address -parse-as-library -O -g -swift-version 6 \
            -module-name "$module" "fuzz/$target/main.swift" "${sources[@]}" -o "$dir/fuzzer" 2>&1 \
            | grep -v "Cannot export local symbol" || true)
    else
        # shellcheck disable=SC2086
        (cd "$ROOT" && "$CLANG" -g -O1 -fno-omit-frame-pointer -fsanitize=fuzzer,address,undefined "${LD[@]}" \
            -fno-sanitize-recover=undefined -I"$ROOT/Sources/CSupport/include" \
            ${EXTRA_SOURCES[$target]} ${LIBS[$target]} -o "$dir/fuzzer")
    fi
    test -x "$dir/fuzzer"
}

stamp="$(date -u +%Y%m%dT%H%M%SZ)"
rows=()
status=0
for target in "${TARGETS[@]}"; do
    [ -n "${KIND[$target]:-}" ] || { echo "unknown target: $target (known: ${ALL_TARGETS[*]})" >&2; exit 2; }
    if [ ${#TARGETS[@]} -eq 1 ] && [ -n "${FUZZ_WORK:-}" ]; then dir="$FUZZ_WORK"; else dir="$WORK_ROOT/$target"; fi
    mkdir -p "$dir/corpus"
    seeds="$ROOT/${SEEDS[$target]}"
    nseeds=$(find "$seeds" -type f | wc -l)
    echo "== building $target (${KIND[$target]})"
    if ! build "$target" "$dir"; then
        echo "!! $target: build failed" >&2
        rows+=("| $target | build failed | | | | | | |")
        status=1
        continue
    fi
    echo "== fuzzing $target for ${SECONDS_PER_TARGET}s ($nseeds seeds, work dir $dir)"
    log="$dir/fuzz.log"
    marker="$dir/.run-start"
    touch "$marker"
    dict=()
    [ -n "${DICTS[$target]:-}" ] && dict=(-dict="$ROOT/${DICTS[$target]}")
    start=$(date +%s.%N)
    set +e
    # -malloc_limit_mb: inputs are small (max_len) and the harnesses cap images at 65536
    # pixels, so any single allocation over 64 MB is a memory-exhaustion bug (this is how
    # the 2 GB PNG tEXt chunk was found).
    # SWIFT_BACKTRACE=enable=no: let libFuzzer's deadly-signal handler report Swift traps
    # (the Swift backtracer's memory server trips ASan false positives).
    (cd "$dir" && SWIFT_BACKTRACE=enable=no ./fuzzer -max_total_time="$SECONDS_PER_TARGET" -timeout=5 -rss_limit_mb=2048 \
        -malloc_limit_mb=64 -max_len="${MAX_LEN[$target]}" "${dict[@]}" -artifact_prefix="$dir/" \
        -print_final_stats=1 corpus "$seeds") >"$log" 2>&1
    rc=$?
    set -e
    end=$(date +%s.%N)
    elapsed=$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.0f", b - a }')
    execs=$(awk '/stat::number_of_executed_units/ { print $2 }' "$log")
    [ -n "$execs" ] || execs=$(grep -Eo '^#[0-9]+' "$log" | tail -1 | tr -d '#' || true)
    rate=$(awk '/stat::average_exec_per_sec/ { print $2 }' "$log")
    [ -n "$rate" ] || rate=$(awk -v e="${execs:-0}" -v s="$elapsed" 'BEGIN { if (s > 0) printf "%.0f", e / s }')
    cov=$(grep -Eo 'cov: [0-9]+' "$log" | tail -1 | awk '{ print $2 }' || true)
    ft=$(grep -Eo 'ft: [0-9]+' "$log" | tail -1 | awk '{ print $2 }' || true)
    corp=$(grep -Eo 'corp: [0-9]+' "$log" | tail -1 | awk '{ print $2 }' || true)
    rss=$(awk '/stat::peak_rss_mb/ { print $2 }' "$log")
    artifacts=$(find "$dir" -maxdepth 1 -type f -newer "$marker" \
        \( -name 'crash-*' -o -name 'leak-*' -o -name 'timeout-*' -o -name 'oom-*' \) | wc -l)
    if [ "$rc" -ne 0 ] || [ "$artifacts" -ne 0 ]; then
        status=1
        echo "!! $target failed (exit $rc, $artifacts artifact(s)); see $log" >&2
        grep -E "ERROR|SUMMARY|Fatal error|invariant failed|Test unit written" "$log" >&2 || tail -20 "$log" >&2
    fi
    echo "   ${execs:-?} executions in ${elapsed}s (${rate:-?}/s), cov ${cov:-?}, ft ${ft:-?}, corpus ${corp:-?}, exit $rc"
    rows+=("| $target | $elapsed | ${execs:-?} | ${rate:-?} | ${cov:-?} / ${ft:-?} | $nseeds → ${corp:-?} | ${rss:-?} | $artifacts |")
done

cpu="$(lscpu 2>/dev/null | sed -n 's/^Model name:[[:space:]]*//p' | head -1)"
table=$(
    echo "Fuzzing run $stamp: ${SECONDS_PER_TARGET}s per target, $(nproc) CPUs (${cpu:-unknown CPU}), load average $(cut -d' ' -f1-3 /proc/loadavg) at the end."
    echo
    echo "| target | seconds | executions | exec/s | coverage (edges / features) | corpus (seeds → after) | peak RSS MB | crashes |"
    echo "|---|---:|---:|---:|---:|---:|---:|---:|"
    printf '%s\n' "${rows[@]}"
)
echo
echo "$table"
if [ -n "$SUMMARY_DIR" ]; then
    mkdir -p "$SUMMARY_DIR"
    echo "$table" >"$SUMMARY_DIR/summary-$stamp.md"
    echo
    echo "summary written to $SUMMARY_DIR/summary-$stamp.md"
fi
exit $status
