#!/usr/bin/env bash
# Load test of `POST /v1/classify` with wrk: throughput, latency, errors and memory of a real
# `vaeguard serve` (shipped models and config), optionally side by side with a PyTorch peer.
#
#   scripts/load.sh                     VAEGuard only
#   scripts/load.sh --peer              also the FastAPI + PyTorch peer (bench/peer/; run
#                                       bench/peer/setup.sh once first), same scenarios, interleaved
#   DURATION=3 CONCURRENCY="1 8" scripts/load.sh --peer       a quick smoke run
#
# Environment (all optional):
#   VAEGUARD_BIN   binary to serve (default .build/release/vaeguard); it is run from a private
#                  copy in /tmp, so a rebuild during the run cannot replace it
#   DURATION       seconds per wrk run (default 20; "20" or "20s")
#   CONCURRENCY    connection counts (default "1 8 64")
#   SCENARIOS      subset of: mnist-vae cifar10-vae rgb299-patch (default all three)
#   WARMUP         seconds of unrecorded load per scenario and server before its runs (default 2; 0 = none)
#   WRK_THREADS    wrk threads (default 1: one event loop drives these rates easily and leaves
#                  the cores to the server; never more than the connections)
#   TIMEOUT        wrk's per-request timeout (default 30s, VAEGuard's queue deadline)
#   CONFIG         configuration file (default config/vaeguard.json)
#   MODELS         models folder (default models/)
#   LOG_LEVEL      server log level (default notice: no per-request access log line)
#   QUERY_EXTRA    appended to every request's query, e.g. "&samples=4" or "&sampling=mean"
#   LOAD_API_KEY   sent as X-API-Key, for a configuration with API keys
#   PEER=1         same as --peer; PEER_WORKERS (default: the number of cores, how a Python
#                  deployment runs uvicorn), PEER_TORCH_THREADS, PEER_INFER_CONCURRENCY,
#                  PEER_VENV: see bench/peer/README.md
#   PEER_ONE_WORKER=1  with --peer, also a one-worker peer, measured in the same runs and shown
#                  as extra columns of the ratio table (the main ratio is against PEER_WORKERS)
#   OUT_DIR        where the report goes (default runs/load): <timestamp>.md, and
#                  <timestamp>/ with the server logs and raw wrk output
#
# Scenarios (each at every concurrency; a scenario whose model or purifier the server has not
# loaded is reported as skipped, e.g. "skipped: model cifar10 not loaded"):
#   mnist-vae     docs/examples/digit.png (28x28 gray)           ?model=mnist&purifier=vae
#   cifar10-vae   bench/images/cifar10-cat-32.png (32x32 RGB)     ?model=cifar10&purifier=vae
#   rgb299-patch  bench/images/cifar10-cat-299.png (299x299 RGB)  ?model=mnist&purifier=patch-vae
#                 /v1/classify converts the upload to the model's channels and resizes it to the
#                 model input (gray 28x28) before purifying, so this measures decoding a 299x299
#                 RGB PNG + conversion + area resize + the 8x8 patch VAE over 28x28 (36 patches at
#                 stride 4) + classification. (Full-resolution patch purification is /v1/purify.)
#
# Every request body is the PNG file itself, Content-Type image/png (bench/wrk/post-image.lua).
# Before wrk, one request per scenario and server is checked with curl (must be HTTP 200 with
# predictions). Per run, one table row: requests/s (all responses) and 2xx/s, p50, p99 (wrk
# measures every response, errors included), non-2xx responses (with the status
# breakdown), socket errors/timeouts, and the server's resident memory (VmRSS, summed over its
# processes) before, at the peak of 1-second samples during the run, and after.
# Exit status: 0; 1 on bad usage or a server that did not start; 2 when a curl check failed or
# a run had non-2xx responses or socket errors (the tables are printed in every case).
set -euo pipefail

usage() { sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; }
peer="${PEER:-0}"
for arg in "$@"; do
  case $arg in
    --peer) peer=1 ;;
    -h|--help) usage; exit 0 ;;
    *) echo "load.sh: unknown argument '$arg' (see --help)" >&2; exit 1 ;;
  esac
done

root="$(cd "$(dirname "$0")/.." && pwd)"
abspath() {  # a path given relative to the caller's directory, else relative to the repository
  case $1 in /*) echo "$1" ;; *) if [ -e "$1" ]; then echo "$PWD/$1"; else echo "$root/$1"; fi ;; esac
}
vg="$(abspath "${VAEGUARD_BIN:-.build/release/vaeguard}")"
config="$(abspath "${CONFIG:-config/vaeguard.json}")"
models="$(abspath "${MODELS:-models}")"
out_dir="$(abspath "${OUT_DIR:-runs/load}")"
cd "$root"

duration="${DURATION:-20}"; duration="${duration%s}"
concurrency="${CONCURRENCY:-1 8 64}"
scenarios="${SCENARIOS:-mnist-vae cifar10-vae rgb299-patch}"
warmup="${WARMUP:-2}"; warmup="${warmup%s}"
wrk_threads="${WRK_THREADS:-1}"
timeout="${TIMEOUT:-30s}"
log_level="${LOG_LEVEL:-notice}"
lua="$root/bench/wrk/post-image.lua"
auth=()
if [ -n "${LOAD_API_KEY:-}" ]; then auth=(-H "X-API-Key: $LOAD_API_KEY"); export WRK_API_KEY="$LOAD_API_KEY"; fi

[ -x "$vg" ] || { echo "load.sh: no vaeguard binary at $vg (build it: swift build -c release, or set VAEGUARD_BIN)" >&2; exit 1; }
command -v wrk >/dev/null || { echo "load.sh: wrk is not installed (scripts/install-deps.sh --bench)" >&2; exit 1; }
command -v curl >/dev/null || { echo "load.sh: curl is not installed" >&2; exit 1; }

scenario_spec() {  # name -> "model purifier image"
  case $1 in
    mnist-vae)    echo "mnist vae docs/examples/digit.png" ;;
    cifar10-vae)  echo "cifar10 vae bench/images/cifar10-cat-32.png" ;;
    rgb299-patch) echo "mnist patch-vae bench/images/cifar10-cat-299.png" ;;
    *) echo "load.sh: unknown scenario '$1' (known: mnist-vae cifar10-vae rgb299-patch)" >&2; exit 1 ;;
  esac
}
for scenario in $scenarios; do scenario_spec "$scenario" >/dev/null; done

stamp="$(date -u +%Y%m%dT%H%M%SZ)"
mkdir -p "$out_dir/$stamp"
logs="$out_dir/$stamp"
report="$out_dir/$stamp.md"

# MARK: - Processes we start, and their cleanup

source "$root/scripts/lib/serve.sh"
pids=()          # servers other than VAEGuard (the peer)
sampler=""       # the RSS sampler of the current run
wrk_pid=""       # the wrk of the current run
cleanup() {
  set +e
  [ -n "$wrk_pid" ] && kill "$wrk_pid" 2>/dev/null
  [ -n "$sampler" ] && kill "$sampler" 2>/dev/null
  vaeguard_stop
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null; done
  for p in "${pids[@]}"; do
    for ((i = 0; i < 50; i++)); do kill -0 "$p" 2>/dev/null || break; sleep 0.2; done
    kill -KILL "$p" 2>/dev/null
    wait "$p" 2>/dev/null
  done
}
trap 'exit 130' INT TERM

# Resident memory of a process and all its descendants, in KiB (uvicorn --workers forks).
tree_rss_kb() {
  local total=0 p rss kids
  local todo=("$1")
  while [ ${#todo[@]} -gt 0 ]; do
    p=${todo[0]}; todo=("${todo[@]:1}")
    rss=$(awk '/^VmRSS:/ {print $2}' "/proc/$p/status" 2>/dev/null || true)
    total=$((total + ${rss:-0}))
    kids=$(ps -o pid= --ppid "$p" 2>/dev/null || true)
    for k in $kids; do todo+=("$k"); done
  done
  echo "$total"
}
mib() { awk -v k="$1" 'BEGIN {printf "%.1f", k / 1024}'; }

# MARK: - Servers

echo "starting VAEGuard (log: $logs/vaeguard.log)" >&2
VAEGUARD_BIN=$vg VG_LOG_FILE=$logs/vaeguard.log VG_LOG_LEVEL=$log_level   # (plain assignments: vaeguard_stop reads them too)
vaeguard_start --config "$config" --models "$models" || exit 1
trap 'cleanup 2>/dev/null' EXIT   # (bash 5.2 may print a spurious "wait_for: No record of process" here)
declare -A url pid label
url[vaeguard]=$VG_BASE; pid[vaeguard]=$VG_PID; label[vaeguard]="VAEGuard"
servers=(vaeguard)

peer_workers="${PEER_WORKERS:-$(nproc)}"
peer_one="${PEER_ONE_WORKER:-0}"
[ "$peer_workers" = 1 ] && peer_one=0   # the main peer is already the one-worker peer
start_peer() {  # key workers label
  local key=$1 workers=$2 port
  port="$(free_port)"
  PEER_VENV="$venv" PEER_WORKERS="$workers" "$root/bench/peer/run.sh" "$port" >"$logs/$key.log" 2>&1 &
  pid[$key]=$!; pids+=("${pid[$key]}")
  url[$key]="http://127.0.0.1:$port"; label[$key]=$3
  servers+=("$key")
  echo "starting ${label[$key]} on ${url[$key]} (log: $logs/$key.log)" >&2
  wait_ready "$key" "${pid[$key]}" "${url[$key]}" "$logs/$key.log"
}
if [ "$peer" = 1 ]; then
  venv="${PEER_VENV:-/tmp/vaeguard-peer-venv}"
  [ -x "$venv/bin/uvicorn" ] || { echo "load.sh: no peer venv at $venv: run bench/peer/setup.sh first" >&2; exit 1; }
  start_peer peer "$peer_workers" "peer (FastAPI + PyTorch, $peer_workers worker(s))" || exit 1
  if [ "$peer_one" = 1 ]; then
    start_peer peer1 1 "peer (FastAPI + PyTorch, 1 worker)" || exit 1
  fi
fi

# "model purifier purifier ..." per loaded model, from GET /v1/models.
models_of() {
  local body
  body=$(curl -sS "${auth[@]}" -w '\n%{http_code}' "$1/v1/models") || true
  if [ "$(tail -1 <<<"$body")" != 200 ]; then
    echo "load.sh: GET $1/v1/models answered HTTP $(tail -1 <<<"$body"): $(sed '$d' <<<"$body" | head -c 300)" >&2
    echo "  (with API keys configured, set LOAD_API_KEY)" >&2
    exit 1
  fi
  sed '$d' <<<"$body" | python3 -c '
import json, sys
for m in json.load(sys.stdin)["models"]:
    print(m["name"], " ".join(m.get("purifiers", [])))'
}
vg_models="$(models_of "${url[vaeguard]}")" || exit 1

# MARK: - Scenarios

# One request with curl: prints "ok <summary>" or "error <summary>".
check_request() {  # server url image
  local server=$1 target=$2 image=$3 code
  code=$(curl -sS "${auth[@]}" -o "$logs/check-$server.json" -w '%{http_code}' -X POST -H 'Content-Type: image/png' \
         --data-binary "@$image" "$target" 2>>"$logs/check-$server.err") || true
  code=${code:-000}
  python3 - "$code" "$logs/check-$server.json" <<'PY'
import json, sys
code, path = sys.argv[1], sys.argv[2]
try:
    body = json.load(open(path))
except Exception:
    body = None
if code != "200" or not isinstance(body, dict) or not body.get("predictions"):
    message = body.get("error", {}).get("message") if isinstance(body, dict) and isinstance(body.get("error"), dict) else None
    print("error", f"HTTP {code}" + (f": {message}" if message else ""))
else:
    top = body["predictions"][0]
    purifier = body.get("purifier", {}).get("name", "?")
    total = body.get("timings", {}).get("total_ms")
    print("ok", f"HTTP 200, purifier {purifier}, top label {top['label']} ({top['confidence']:.3f})"
          + (f", {total:.1f} ms server time" if isinstance(total, (int, float)) else ""))
PY
}

# One wrk run with RSS sampling. Sets: run_line (LOAD-RESULT fields), rss_before/peak/after (KiB).
run_wrk() {  # server target image connections seconds
  local server=$1 target=$2 image=$3 c=$4 secs=$5 t=$wrk_threads raw
  [ "$t" -gt "$c" ] && t=$c
  local p=${pid[$server]}
  rss_before=$(tree_rss_kb "$p")
  local peak_file="$logs/.peak"; echo "$rss_before" >"$peak_file"
  ( peak=$rss_before
    while true; do
      r=$(tree_rss_kb "$p"); [ "$r" -gt "$peak" ] && { peak=$r; echo "$peak" >"$peak_file"; }
      sleep 1
    done ) &
  sampler=$!
  raw="$logs/wrk-$server-$scenario-c$c.txt"
  # In the background and waited for, so that a TERM/INT to this script is handled at once.
  wrk -t"$t" -c"$c" -d"${secs}s" --timeout "$timeout" --latency -s "$lua" "$target" -- "$image" >"$raw" 2>&1 &
  wrk_pid=$!
  local rc=0; wait "$wrk_pid" || rc=$?
  wrk_pid=""
  [ "$rc" = 0 ] || echo "wrk failed (exit $rc)" >>"$raw"
  kill "$sampler" 2>/dev/null || true; wait "$sampler" 2>/dev/null || true; sampler=""
  rss_after=$(tree_rss_kb "$p")
  rss_peak=$(cat "$peak_file"); [ "$rss_after" -gt "$rss_peak" ] && rss_peak=$rss_after
  run_line="$(grep '^LOAD-RESULT' "$raw" | tail -1 || true)"
}
note_row() { echo "| $1 | $2 | ${3//|/\\|} | | | | | | | | | |"; }   # scenario, concurrency, text in the requests/s column
field() { sed -n "s/.* $1=\([^ ]*\).*/\1/p" <<<" $run_line"; }

declare -A rows rps_of
problems=()
status=0
echo "load before: $(uptime)" >&2
load_before="$(sed 's/^.*load average: //' <<<"$(uptime)")"

for scenario in $scenarios; do
  read -r model purifier image <<<"$(scenario_spec "$scenario")"
  target_q="/v1/classify?model=$model&purifier=$purifier${QUERY_EXTRA:-}"
  [ -f "$image" ] || { echo "load.sh: missing $image (python3 bench/images/make-images.py)" >&2; exit 1; }
  purifiers_line="$(awk -v m="$model" '$1 == m' <<<"$vg_models")"
  skip=""
  if [ -z "$purifiers_line" ]; then
    skip="skipped: model $model not loaded"
  elif [[ " ${purifiers_line#* } " != *" $purifier "* ]]; then
    skip="skipped: model $model has no purifier $purifier loaded"
  fi
  if [ -n "$skip" ]; then
    echo "$scenario: $skip" >&2
    for s in "${servers[@]}"; do rows[$s]+="$(note_row "$scenario" – "$skip")"$'\n'; done
    continue
  fi
  declare -A usable=()
  for s in "${servers[@]}"; do
    read -r verdict summary <<<"$(check_request "$s" "${url[$s]}$target_q" "$image")"
    echo "$scenario: curl check on ${label[$s]}: $summary" >&2
    if [ "$verdict" = ok ]; then
      usable[$s]=1
      [ "$warmup" != 0 ] && wrk -t1 -c8 -d"${warmup}s" --timeout "$timeout" -s "$lua" "${url[$s]}$target_q" -- "$image" \
        >"$logs/warmup-$s-$scenario.txt" 2>&1 || true
    else
      rows[$s]+="$(note_row "$scenario" – "error: curl check $summary")"$'\n'
      problems+=("$scenario on ${label[$s]}: curl check $summary"); status=2
    fi
  done
  for c in $concurrency; do
    for s in "${servers[@]}"; do
      [ -n "${usable[$s]:-}" ] || continue
      run_wrk "$s" "${url[$s]}$target_q" "$image" "$c" "$duration"
      if [ -z "$run_line" ]; then
        rows[$s]+="$(note_row "$scenario" "$c" "error: wrk gave no result (see $logs/wrk-$s-$scenario-c$c.txt)")"$'\n'
        problems+=("$scenario c=$c on ${label[$s]}: wrk gave no result"); status=2; continue
      fi
      rps=$(field rps); non2xx=$(field non2xx); statuses=$(field statuses)
      sock=$(( $(field connect_errors) + $(field read_errors) + $(field write_errors) + $(field timeouts) ))
      non2xx_cell="$non2xx"; sock_cell="$sock"
      if [ "$non2xx" != 0 ]; then
        non2xx_cell="**$non2xx** ($statuses)"; problems+=("$scenario c=$c on ${label[$s]}: $non2xx non-2xx ($statuses)"); status=2
      fi
      if [ "$sock" != 0 ]; then
        sock_cell="**$sock** (connect $(field connect_errors), read $(field read_errors), write $(field write_errors), timeout $(field timeouts))"
        problems+=("$scenario c=$c on ${label[$s]}: $sock socket errors/timeouts"); status=2
      fi
      ok_rps=$(awk -v n="$(field requests)" -v e="$non2xx" -v us="$(field duration_us)" 'BEGIN {printf "%.2f", (us > 0) ? (n - e) / (us / 1e6) : 0}')
      rows[$s]+="| $scenario | $c | $rps | $ok_rps | $(field p50_ms) | $(field p99_ms) | $(field requests) | $non2xx_cell | $sock_cell | $(mib "$rss_before") | $(mib "$rss_peak") | $(mib "$rss_after") |"$'\n'
      rps_of[$s,$scenario,$c]=$ok_rps
      echo "$scenario c=$c ${label[$s]}: $rps req/s ($ok_rps 2xx/s), p50 $(field p50_ms) ms, p99 $(field p99_ms) ms, non-2xx $non2xx, socket errors $sock, RSS peak $(mib "$rss_peak") MiB" >&2
    done
  done
  unset usable
done
echo "load after: $(uptime)" >&2
load_after="$(sed 's/^.*load average: //' <<<"$(uptime)")"

# MARK: - Report

{
  echo "# Load test: POST /v1/classify ($stamp)"
  echo
  settings=""
  for v in VAEGUARD_BIN DURATION CONCURRENCY SCENARIOS WARMUP WRK_THREADS TIMEOUT CONFIG MODELS LOG_LEVEL \
           QUERY_EXTRA PEER_WORKERS PEER_ONE_WORKER PEER_TORCH_THREADS PEER_INFER_CONCURRENCY; do
    [ -n "${!v:-}" ] && settings+="$v=\"${!v}\" "
  done
  echo "- command: \`${settings}scripts/load.sh$([ "$peer" = 1 ] && echo " --peer")\`"
  echo "- commit: $(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown); binary: $vg ($("$vg" --version 2>/dev/null | head -1))"
  echo "- machine: $(nproc) cores, $(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo); load average $load_before at the start, $load_after at the end"
  echo "- wrk: $wrk_threads thread(s) (at most one per connection), ${duration}s per run, timeout $timeout, warm-up ${warmup}s at 8 connections per scenario; body = the PNG file, Content-Type image/png"
  echo "- VAEGuard: $(basename "$config"), models $models, log level $log_level"
  if [ "$peer" = 1 ]; then
    echo "- peer: bench/peer (FastAPI + uvicorn, $("$venv/bin/python" -c 'import torch; print("torch", torch.__version__)' 2>/dev/null)), **$peer_workers uvicorn worker(s)** (PEER_WORKERS)$([ "$peer_one" = 1 ] && echo ", and a 1-worker peer for the extra columns"), PEER_TORCH_THREADS=${PEER_TORCH_THREADS:-cores/workers}, PEER_INFER_CONCURRENCY=${PEER_INFER_CONCURRENCY:-1}; random weights, same layer shapes"
  fi
  echo "- latency in ms; RSS = VmRSS in MiB (summed over the server's processes): before the run, peak of 1 s samples during it, after"
  for s in "${servers[@]}"; do
    echo
    echo "## ${label[$s]}"
    echo
    echo "| scenario | concurrency | requests/s | 2xx/s | p50 ms | p99 ms | requests | non-2xx | socket errors | RSS before | RSS peak | RSS after |"
    echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
    printf '%s' "${rows[$s]:-}"
  done
  if [ "$peer" = 1 ]; then
    echo
    echo "## Throughput ratio VAEGuard / peer ($peer_workers uvicorn worker(s))"
    echo
    ratio() { if [ -n "$1" ] && [ -n "$2" ]; then awk -v a="$1" -v b="$2" 'BEGIN {if (b > 0) printf "%.2f×", a / b; else print "–"}'; else echo "–"; fi; }
    if [ "$peer_one" = 1 ]; then
      echo "| scenario | concurrency | VAEGuard 2xx/s | peer, $peer_workers workers, 2xx/s | VAEGuard / peer | peer, 1 worker, 2xx/s | VAEGuard / 1-worker peer |"
      echo "|---|---:|---:|---:|---:|---:|---:|"
    else
      echo "| scenario | concurrency | VAEGuard 2xx/s | peer, $peer_workers worker(s), 2xx/s | VAEGuard / peer |"
      echo "|---|---:|---:|---:|---:|"
    fi
    for scenario in $scenarios; do
      for c in $concurrency; do
        a="${rps_of[vaeguard,$scenario,$c]:-}"; b="${rps_of[peer,$scenario,$c]:-}"
        [ -n "$a" ] && [ -n "$b" ] || continue
        line="| $scenario | $c | $a | $b | $(ratio "$a" "$b") |"
        if [ "$peer_one" = 1 ]; then
          one="${rps_of[peer1,$scenario,$c]:-}"
          line+=" ${one:-–} | $(ratio "$a" "$one") |"
        fi
        echo "$line"
      done
    done
  fi
  if [ ${#problems[@]} -gt 0 ]; then
    echo
    echo "**Errors** (non-2xx responses, socket errors or failed checks):"
    echo
    for p in "${problems[@]}"; do echo "- $p"; done
  fi
} | tee "$report"
echo "report: $report (server logs and raw wrk output in $logs/)" >&2
exit "$status"
