# syntax=docker/dockerfile:1
# imgdel worker (and, with another command, the emulator).
#   docker build -t imgdel .
#   docker run --rm -e TEMPORAL_ADDRESS=... -e IMGDEL_ACCOUNT_ID=... imgdel
#   docker stop -t 40 <container>   # longer than the grace time + one cloud call's timeouts + 5 s
#   (docker stop's default 10 s equals the default grace: activities still running are then killed
#   and retried only after their 30 s heartbeat timeout)
# Debian (glibc) rather than Alpine: the Temporal Core SDK ships glibc binaries.
ARG NODE_IMAGE=node:20.19-bookworm-slim

# --- build: all dependencies, the prebuilt workflow bundle, the compiled JavaScript -
FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN --mount=type=cache,target=/root/.npm npm ci --no-audit --no-fund
COPY tsconfig.json ./
COPY src ./src
RUN npm run build:bundle
# tsc → dist/src/**.js: the worker runs as plain JavaScript (no tsx loader: less memory, faster start).
COPY tsconfig.build.json ./
RUN npm run build:js

# --- production dependencies only (tsx stays one: the emulator and the CLI run TypeScript) ---
FROM ${NODE_IMAGE} AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN --mount=type=cache,target=/root/.npm npm ci --omit=dev --no-audit --no-fund

# --- runtime ------------------------------------------------------------------------
FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production \
    IMGDEL_WORKFLOW_BUNDLE=/app/dist/workflow-bundle.js \
    IMGDEL_OBSERVABILITY_HOST=0.0.0.0 \
    IMGDEL_HEALTH_PORT=8081 \
    IMGDEL_METRICS_PORT=9464 \
    IMGDEL_LOG_FORMAT=json \
    NODE_OPTIONS="--max-old-space-size=128 --max-semi-space-size=2" \
    MALLOC_ARENA_MAX=2
# Memory (measured by `npm run bench`, P5): V8 grows each heap lazily towards its limit, and the
# worker has two (the main thread: activities, HTTP; the workflow thread: cached workflows), so
# without a limit the peak follows the machine's memory, not the load (~700 MiB RSS at 500
# deletions in flight). 128 MiB per heap leaves headroom over the live sets measured then
# (~55-70 MiB main, ~80 MiB workflow thread); raise it with IMGDEL_MAX_CACHED_WORKFLOWS.
# MALLOC_ARENA_MAX=2: glibc keeps fewer per-thread arenas (the Core SDK runs many threads).
WORKDIR /app
COPY --from=deps --chown=root:root /app/node_modules ./node_modules
COPY --chown=root:root package.json tsconfig.json ./
COPY --chown=root:root src ./src
COPY --chown=root:root bin ./bin
COPY --from=build --chown=root:root /app/dist ./dist
# Files stay root-owned and read-only to the process; it runs as the image's unprivileged user "node" (uid 1000).
USER 1000:1000
EXPOSE 8081 9464
HEALTHCHECK --interval=10s --timeout=3s --start-period=60s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+process.env.IMGDEL_HEALTH_PORT+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
# node itself (not npm) is PID 1's child under `init: true`, so SIGTERM reaches the worker.
CMD ["node", "dist/src/worker.js"]
