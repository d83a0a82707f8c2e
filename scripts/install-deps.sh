#!/usr/bin/env bash
# Installs the Debian packages VAEGuard needs, only those that are missing.
# Used by the Makefile, CI (.ci/run) and the Dockerfile, so all three install the same way.
#
#   scripts/install-deps.sh            build + runtime libraries (what `make serve` needs)
#   scripts/install-deps.sh --test     also the tools the test suite uses (openssl CLI, curl, chromium for the demo page test,
#                                      python3 + the client tests' venv at .build/py: tritonclient, kserve, prometheus_client)
#   scripts/install-deps.sh --runtime  only the shared libraries (the Docker runtime stage)
#   scripts/install-deps.sh --bench    the build libraries and the load generator (wrk) that
#                                      scripts/load.sh drives; the peer's venv: bench/peer/setup.sh
set -euo pipefail

build=(pkg-config libopenblas-dev libpng-dev zlib1g-dev libssl-dev libturbojpeg0-dev libjpeg62-turbo-dev)
runtime=(libopenblas0-pthread libpng16-16 zlib1g libssl3 libturbojpeg0 curl ca-certificates)
testing=(openssl curl chromium python3 python3-venv)
benching=(wrk curl python3 python3-venv)

case "${1:-}" in
  --runtime) wanted=("${runtime[@]}") ;;
  --test)    wanted=("${build[@]}" "${testing[@]}") ;;
  --bench)   wanted=("${build[@]}" "${benching[@]}") ;;
  "")        wanted=("${build[@]}") ;;
  *) echo "usage: $0 [--test|--runtime|--bench]" >&2; exit 2 ;;
esac

missing=()
for pkg in "${wanted[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#wanted[@]} packages present"
else
  echo "install-deps: installing ${missing[*]}"
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
# The client tests' Python packages (PyPI, pinned in Tests/clients/requirements.txt).
if [ "${1:-}" = "--test" ]; then "$(dirname "$0")/python-env.sh"; fi
