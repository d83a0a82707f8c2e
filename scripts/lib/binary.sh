# private_binary SOURCE TAG: copies the vaeguard binary SOURCE to /tmp/vaeguard-TAG.XXXXXX and
# prints the copy's path, so that a rebuild during a long run cannot replace the running
# binary. The caller removes the copy (e.g. `trap 'rm -f "$BIN"' EXIT`).
private_binary() {
  local copy
  [ -x "$1" ] || { echo "no vaeguard binary at $1 (swift build -c release)" >&2; return 1; }
  copy=$(mktemp "/tmp/vaeguard-$2.XXXXXX") && cp "$1" "$copy" && chmod +x "$copy" && echo "$copy"
}
