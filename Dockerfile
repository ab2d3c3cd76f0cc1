# syntax=docker/dockerfile:1
# The meshward operator image (docs/install.md, "Container image"):
#   docker build -t meshward:0.1.0 --build-arg SOURCE=<url of this repository> .
# Three stages on the same pinned Node 24 image (the project's Node: package.json's "node"
# devDependency; a unit test keeps the two in step): compile TypeScript to dist/, install the
# production dependencies, then a runtime with only those two, run as a fixed non-root UID.
ARG NODE_IMAGE=node:24.21.0-trixie-slim

FROM ${NODE_IMAGE} AS build
WORKDIR /src
COPY package.json package-lock.json ./
# --ignore-scripts: the one install script in the lock file is the "node" devDependency's, which
# would fetch a Node binary this image already has.
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY operator ./operator
RUN node node_modules/typescript/bin/tsc -p tsconfig.build.json

FROM ${NODE_IMAGE} AS deps
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund

FROM ${NODE_IMAGE} AS runtime
# Nothing but node runs here: drop the package managers (npm, npx, corepack, yarn).
RUN rm -rf /usr/local/lib/node_modules /usr/local/bin/npm /usr/local/bin/npx \
    /usr/local/bin/corepack /usr/local/bin/yarn /usr/local/bin/yarnpkg /opt/yarn-*
ARG VERSION=0.1.0
ARG SOURCE=""
LABEL org.opencontainers.image.title="meshward" \
      org.opencontainers.image.description="Kubernetes operator that turns one ServiceSecurityProfile per service into mTLS, authorization, network policy, identity and secrets" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.source="${SOURCE}" \
      org.opencontainers.image.licenses="Apache-2.0"
# MALLOC_ARENA_MAX=2: glibc gives each thread that allocates (libuv's pool, V8's workers) an arena
# of its own, up to 8 per core, and keeps what they held. A restarted operator lists every cache at
# once and kept about 9 MB more native memory without this limit (docs/benchmarks.md, "Issue 10's
# targets"). The bench reads this line.
ENV NODE_ENV=production MALLOC_ARENA_MAX=2
WORKDIR /app
# package.json: "type": "module" makes dist/*.js ES modules.
COPY package.json ./
COPY --from=deps /src/node_modules ./node_modules
COPY --from=build /src/dist ./dist
COPY bin ./bin
# The chart's UID/GID (65532); no passwd entry is needed. The root filesystem can be read-only.
USER 65532:65532
# /metrics (HTTPS unless --metrics-secure false) and the probes (plain HTTP).
EXPOSE 8080 8081
# V8 heap flags (docs/benchmarks.md, "Where the memory goes"; ADR 10): a 4 MB semi-space and a
# heap that grows 20 % over the live set at each full GC keep the idle RSS at 1,000 profiles near
# 150 MB instead of 350 MB, at the same throughput; the heap still grows with the fleet (no fixed
# cap to run out of). The benchmarks read these flags from here.
ENTRYPOINT ["node", "--max-semi-space-size=4", "--heap-growing-percent=20", "dist/operator/main.js"]
