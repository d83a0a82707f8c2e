# Shared by the load, overload and soak scripts: start a private copy of vaeguard and wait
# until it is ready. Source it, then call `vaeguard_start [serve flags...]`; it sets
# VG_PORT, VG_PID and VG_BASE and stops the server on exit.
#
#   VAEGUARD_BIN   binary to run (default .build/release/vaeguard)

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

vaeguard_start() {
  local root; root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
  local bin="${VAEGUARD_BIN:-$root/.build/release/vaeguard}"
  [ -x "$bin" ] || { echo "no vaeguard binary at $bin (swift build -c release)" >&2; return 1; }
  # A private copy, so a rebuild during a long run cannot replace the running binary.
  VG_BINCOPY=$(mktemp /tmp/vaeguard-bench.XXXXXX); cp "$bin" "$VG_BINCOPY"; chmod +x "$VG_BINCOPY"
  VG_PORT=$(free_port)
  VG_BASE="http://127.0.0.1:$VG_PORT"
  VG_LOG=$(mktemp /tmp/vaeguard-bench-log.XXXXXX)
  (cd "$root" && exec "$VG_BINCOPY" serve --host 127.0.0.1 --port "$VG_PORT" --log-level warning "$@") >"$VG_LOG" 2>&1 &
  VG_PID=$!
  trap vaeguard_stop EXIT
  for _ in $(seq 1 600); do
    if [ "$(curl -s -o /dev/null -w '%{http_code}' "$VG_BASE/readyz")" = 200 ]; then return 0; fi
    kill -0 "$VG_PID" 2>/dev/null || { echo "vaeguard exited:" >&2; cat "$VG_LOG" >&2; return 1; }
    sleep 0.2
  done
  echo "vaeguard not ready after 120 s" >&2; return 1
}

vaeguard_stop() {
  if [ -n "${VG_PID:-}" ] && kill -0 "$VG_PID" 2>/dev/null; then
    kill -TERM "$VG_PID"; wait "$VG_PID" 2>/dev/null || true
  fi
  rm -f "${VG_BINCOPY:-}" "${VG_LOG:-}"
}
