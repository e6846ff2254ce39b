# webhook-agent: multi-stage image on node:20-slim, run as the unprivileged `node` user, data in /data.
# Build: docker build -t webhook-agent .        Run: docker run -p 8080:8080 -v wa-data:/data webhook-agent
# (not built in this project's CI, which has no Docker engine; see docs/operations.md)

FROM node:20-slim AS build
WORKDIR /app
# Compilers only for better-sqlite3's fallback source build (when no prebuilt binary matches).
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
# The admin page: bundled by scripts/build-admin.mjs into dist/admin (static files, nothing fetched at run time).
COPY web ./web
COPY scripts/build-admin.mjs scripts/build-if-stale.mjs ./scripts/
RUN npm run build \
 && npm prune --omit=dev --no-audit --no-fund

FROM node:20-slim
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=8080 \
    DATABASE_URL=sqlite:/data/webhook-agent.sqlite
WORKDIR /app
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json README.md ./
RUN mkdir -p /data && chown node:node /data
USER node
VOLUME ["/data"]
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||8080)+'/readyz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
# --disable-proto=delete: a crafted id="__proto__" would otherwise break node-soap's parser (serve refuses to start without it).
ENTRYPOINT ["node", "--disable-proto=delete", "dist/src/cli.js"]
CMD ["serve"]
