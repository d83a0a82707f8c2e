# VAEGuard container: build with the Swift toolchain, run on slim Debian with only the
# shared libraries the binary links. Both stages install packages with the same script the
# README's Quick start uses (scripts/install-deps.sh).
#
#   docker build -t vaeguard .
#   docker run -p 8080:8080 vaeguard

# ---- build ----
FROM swift:6.2-bookworm AS build
WORKDIR /src
COPY scripts/install-deps.sh scripts/install-deps.sh
RUN scripts/install-deps.sh
COPY Package.swift ./
COPY Sources Sources
COPY Tests Tests
# The Swift runtime (stdlib, Foundation, Dispatch) is linked in statically, so the runtime
# stage needs only the C libraries.
RUN swift build -c release --product vaeguard --static-swift-stdlib \
 && install -D "$(swift build -c release --show-bin-path)/vaeguard" /out/vaeguard

# ---- runtime ----
FROM debian:bookworm-slim
COPY scripts/install-deps.sh /tmp/install-deps.sh
RUN /tmp/install-deps.sh --runtime && rm -rf /var/lib/apt/lists/* /tmp/install-deps.sh
COPY --from=build /out/vaeguard /usr/local/bin/vaeguard
COPY models /usr/share/vaeguard/models
COPY config /etc/vaeguard
RUN useradd --system --uid 10001 --no-create-home vaeguard
USER vaeguard
WORKDIR /tmp
ENV VAEGUARD_MODELS=/usr/share/vaeguard/models
EXPOSE 8080
HEALTHCHECK --interval=15s --timeout=3s --start-period=30s --retries=3 \
  CMD curl -fsS http://127.0.0.1:8080/healthz || exit 1
ENTRYPOINT ["vaeguard"]
CMD ["serve", "--config", "/etc/vaeguard/vaeguard.json"]
