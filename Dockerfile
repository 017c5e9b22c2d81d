# syntax=docker/dockerfile:1
# imgdel worker (and, with another command, the emulator).
#   docker build -t imgdel .
#   docker run --rm -e TEMPORAL_ADDRESS=... -e IMGDEL_ACCOUNT_ID=... imgdel
# Debian (glibc) rather than Alpine: the Temporal Core SDK ships glibc binaries.
ARG NODE_IMAGE=node:20.19-bookworm-slim

# --- build: all dependencies, then the prebuilt workflow bundle -------------------
FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN --mount=type=cache,target=/root/.npm npm ci --no-audit --no-fund
COPY tsconfig.json ./
COPY src ./src
RUN npm run build:bundle

# --- production dependencies only (tsx is one: the worker runs TypeScript as is) ---
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
    IMGDEL_LOG_FORMAT=json
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
# node itself (not npm or the tsx CLI) is PID 1's child under `init: true`, so SIGTERM reaches the worker.
CMD ["node", "--import", "tsx", "src/worker.ts"]
