# Sensorpipe container image (docs/deploy.md).
#   docker build -t sensorpipe .
#   docker run -p 1883:1883 -p 8080:8080 -v sensorpipe-data:/var/lib/sensorpipe sensorpipe

# --- build: compile TypeScript, then keep only the production dependencies -------------------
FROM node:20-bookworm-slim AS build
# Native modules (better-sqlite3) fall back to compiling when no prebuilt binary fits.
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY package.json package-lock.json tsconfig.json ./
COPY src ./src
COPY bin ./bin
# `npm ci` runs the `prepare` script, which builds too; the explicit build fails loudly on its own line.
RUN npm ci
RUN npm run build
RUN npm prune --omit=dev

# --- runtime ----------------------------------------------------------------------------------
FROM node:20-bookworm-slim
ENV NODE_ENV=production
# Every sensorpipe command in the container (also `docker compose exec … sensorpipe status`) finds the data here.
ENV SENSORPIPE_DATA_DIR=/var/lib/sensorpipe
WORKDIR /app
# lake/ exists so that a volume mounted there (compose: one lake shared by all processes) is the user's.
RUN groupadd --system --gid 10001 sensorpipe \
 && useradd --system --uid 10001 --gid 10001 --home-dir /var/lib/sensorpipe --shell /usr/sbin/nologin sensorpipe \
 && mkdir -p /var/lib/sensorpipe/lake \
 && chown -R 10001:10001 /var/lib/sensorpipe
COPY --from=build /app/package.json /app/package-lock.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY --from=build /app/bin ./bin
# The dashboard's static files are served from src/web (src/api/routes/web.ts).
COPY --from=build /app/src/web ./src/web
# Ready import mappings (docs/import.md).
COPY examples ./examples
# `sensorpipe <command>` inside the container (docker compose exec collector-1 sensorpipe status).
RUN ln -s /app/bin/sensorpipe.js /usr/local/bin/sensorpipe
USER 10001:10001
VOLUME ["/var/lib/sensorpipe"]
# 1883: embedded MQTT broker (mqtt.port), 8080: HTTP API, dashboard, /metrics (http.port).
EXPOSE 1883 8080
# No curl in the slim image: Node's fetch probes the public /healthz route.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:8080/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
ENTRYPOINT ["node", "bin/sensorpipe.js"]
CMD ["start", "--data-dir", "/var/lib/sensorpipe"]
