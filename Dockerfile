# syntax=docker/dockerfile:1
# One image per service, from one Dockerfile:
#   docker build --build-arg SERVICE=order -t "$REGISTRY/order:$(git rev-parse HEAD)" .
# cloudbuild.yaml (rendered from platform.toml) builds every service this way.
#
# Stages: `chef` (toolchain + cargo-chef), `planner` (the dependency recipe: changes only when a
# Cargo.toml or Cargo.lock does), `builder` (dependencies cooked in their own cached layer, then
# the service built with --locked --profile image: release with fat LTO, one codegen unit,
# stripped; see Cargo.toml), and a distroless runtime: no shell, no package
# manager, UID 65532, nothing written outside /tmp (mounted by the pod), so the container runs
# with a read-only root filesystem.
#
# The binary links glibc and libgcc only: librdkafka is vendored and statically linked, zlib is
# built statically (LIBZ_SYS_STATIC=1), and nothing uses TLS or SASL (rdkafka's default
# features, reqwest and sqlx without TLS), so gcr.io/distroless/cc-debian12 carries all it needs.

ARG RUST_VERSION=1.95

FROM rust:${RUST_VERSION}-bookworm AS chef
RUN cargo install cargo-chef --locked --version ~0.1
WORKDIR /src

FROM chef AS planner
COPY . .
RUN cargo chef prepare --recipe-path recipe.json

FROM chef AS builder
ARG SERVICE
RUN test -n "${SERVICE}" || { echo "build with --build-arg SERVICE=<service>" >&2; exit 1; }
ENV CARGO_INCREMENTAL=0 \
    CARGO_TERM_COLOR=never \
    LIBZ_SYS_STATIC=1
COPY --from=planner /src/recipe.json recipe.json
RUN --mount=type=cache,target=/usr/local/cargo/registry,sharing=locked \
    cargo chef cook --profile image --locked -p "${SERVICE}" --recipe-path recipe.json
COPY . .
RUN --mount=type=cache,target=/usr/local/cargo/registry,sharing=locked \
    cargo build --profile image --locked -p "${SERVICE}" --bin "${SERVICE}" \
    && cp "target/image/${SERVICE}" /service \
    && ! ldd /service | grep -Ev 'linux-vdso|libc\.so|libm\.so|libgcc_s\.so|ld-linux|libdl\.so|libpthread\.so|librt\.so'

FROM gcr.io/distroless/cc-debian12:nonroot
ARG SERVICE
LABEL org.opencontainers.image.title="${SERVICE}" \
      org.opencontainers.image.source="https://github.com/shop-platform/shop"
COPY --from=builder /service /usr/local/bin/service
USER 65532:65532
ENTRYPOINT ["/usr/local/bin/service"]
