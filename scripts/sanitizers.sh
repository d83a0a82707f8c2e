#!/usr/bin/env bash
# Runs the whole test suite under AddressSanitizer and ThreadSanitizer, each in its own build
# folder (a full rebuild each: ~10 minutes per sanitizer on 2 cores).
#   scripts/sanitizers.sh [address|thread]...      default: both
set -euo pipefail
cd "$(dirname "$0")/.."
sanitizers=("$@")
[ ${#sanitizers[@]} -eq 0 ] && sanitizers=(address thread)
status=0
for s in "${sanitizers[@]}"; do
  echo "== swift test --sanitize=$s"
  log="runs/sanitize-$s.log"
  mkdir -p runs
  if swift build --build-tests --sanitize="$s" --scratch-path ".build-$s" >"$log" 2>&1 &&
     TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1" ASAN_OPTIONS="detect_leaks=0" \
     swift test --skip-build --sanitize="$s" --scratch-path ".build-$s" >>"$log" 2>&1; then
    grep -E "Test run with|Executed .* tests" "$log" | tail -2
  else
    status=1
    echo "FAILED under $s sanitizer; see $log"
    grep -E "WARNING: ThreadSanitizer|ERROR: AddressSanitizer|✘" "$log" | head -20 || true
  fi
done
exit $status
