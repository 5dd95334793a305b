# partnerops serve in a container.
#
#   docker build -t partnerops .
#   docker volume create partnerops
#   docker run --rm -v partnerops:/data partnerops token create --scope admin   # the first admin token
#   docker run -d -p 7420:7420 -v partnerops:/data partnerops
#
# The engine's SQLite file is /data/engine.db (PARTNEROPS_DB); keep /data on a
# volume. For PostgreSQL, set PARTNEROPS_DB to its URL instead.

# Build: the toolchain of Cargo.toml's rust-version, the lock file as it is.
FROM rust:1.95-slim-bookworm AS build
WORKDIR /src
COPY Cargo.toml Cargo.lock ./
COPY src src
# Cargo.toml names the benches; cargo reads their files' paths.
COPY benches benches
RUN cargo build --release --locked --bin partnerops

# Run: a slim Debian, the binary, and curl for the health check; not root.
FROM debian:bookworm-slim
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates curl \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --home-dir /data --shell /usr/sbin/nologin partnerops \
    && mkdir /data && chown partnerops:partnerops /data
COPY --from=build /src/target/release/partnerops /usr/local/bin/partnerops
USER partnerops
WORKDIR /data
ENV PARTNEROPS_DB=/data/engine.db
VOLUME ["/data"]
EXPOSE 7420
# Ready: the store answers and is migrated (`/readyz` needs no token).
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD curl --fail --silent --show-error --max-time 4 http://127.0.0.1:7420/readyz || exit 1
ENTRYPOINT ["partnerops"]
CMD ["serve", "--listen", "0.0.0.0:7420"]
