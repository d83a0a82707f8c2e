# VAEGuard: the two Quick start commands, and the rest of the project's jobs.
#   make serve   install missing system packages, build release, serve on the embedded models (127.0.0.1)
#   make test    install missing system packages and the client tests' Python venv, check the module graph
#                (scripts/check-imports.py), run the whole test suite
#                (swift test; Tests/clients with tritonclient, kserve and prometheus_client; 90 s of schemathesis)
SWIFT ?= swift
# Loopback by default: the service has no API keys until you configure some, and /v1/attack
# is CPU-heavy. `make serve HOST=0.0.0.0` (with auth.apiKeys set) serves the network.
HOST ?= 127.0.0.1
PORT ?= 8080
CONFIG ?= config/vaeguard.json

.PHONY: serve test build deps test-deps info train bench clean

deps:
	scripts/install-deps.sh

test-deps:
	scripts/install-deps.sh --test

build: deps
	$(SWIFT) build -c release --product vaeguard

serve: build
	.build/release/vaeguard serve --host $(HOST) --port $(PORT) --config $(CONFIG)

test: test-deps
	scripts/check-imports.py
	$(SWIFT) build --build-tests
	$(SWIFT) test --skip-build
	scripts/client-tests.sh
	scripts/api-fuzz.sh 90

info: build
	.build/release/vaeguard info

train: build
	scripts/train-models.sh

clean:
	rm -rf .build
