# Shared by the load, overload, soak and figure scripts: start a private copy of vaeguard and
# wait until it is ready. Source it, then call `vaeguard_start [serve flags...]`; it sets
# VG_PORT, VG_PID, VG_BASE and VG_LOG, and stops the server on exit (a caller with its own EXIT
# trap sets that trap after vaeguard_start and calls vaeguard_stop from it).
#
#   VAEGUARD_BIN   binary to run (default .build/release/vaeguard)
#   VG_LOG_FILE    where the server's output goes (kept); default a temporary file (removed)
#   VG_LOG_LEVEL   server log level (default warning)

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# wait_ready NAME PID URL LOG: until URL/readyz answers 200. Fails (1) when PID exits or after
# 120 s, with the last lines of LOG.
wait_ready() {
  local name=$1 pid=$2 url=$3 log=$4
  for _ in $(seq 1 600); do
    if ! kill -0 "$pid" 2>/dev/null; then
      echo "$name exited during start-up; last lines of $log:" >&2; tail -20 "$log" >&2; return 1
    fi
    [ "$(curl -s -o /dev/null -w '%{http_code}' "$url/readyz")" = 200 ] && return 0
    sleep 0.2
  done
  echo "$name not ready after 120 s; last lines of $log:" >&2; tail -20 "$log" >&2; return 1
}

vaeguard_start() {
  local root; root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
  local bin="${VAEGUARD_BIN:-$root/.build/release/vaeguard}"
  source "$root/scripts/lib/binary.sh"
  VG_BINCOPY=$(private_binary "$bin" bench) || return 1
  VG_PORT=$(free_port)
  VG_BASE="http://127.0.0.1:$VG_PORT"
  VG_LOG=${VG_LOG_FILE:-$(mktemp /tmp/vaeguard-bench-log.XXXXXX)}
  (cd "$root" && exec "$VG_BINCOPY" serve --host 127.0.0.1 --port "$VG_PORT" --log-level "${VG_LOG_LEVEL:-warning}" "$@") \
    >"$VG_LOG" 2>&1 &
  VG_PID=$!
  trap vaeguard_stop EXIT
  wait_ready vaeguard "$VG_PID" "$VG_BASE" "$VG_LOG"
}

vaeguard_stop() {
  if [ -n "${VG_PID:-}" ] && kill -0 "$VG_PID" 2>/dev/null; then
    kill -TERM "$VG_PID"
    for _ in $(seq 1 50); do kill -0 "$VG_PID" 2>/dev/null || break; sleep 0.2; done
    kill -KILL "$VG_PID" 2>/dev/null || true
    wait "$VG_PID" 2>/dev/null || true
  fi
  rm -f "${VG_BINCOPY:-}"
  [ -z "${VG_LOG_FILE:-}" ] && rm -f "${VG_LOG:-}"
  return 0
}
