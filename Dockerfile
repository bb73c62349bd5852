# Passerelle engine image. Redis and PostgreSQL are separate services (docker-compose.yml).
FROM node:20-bookworm-slim AS build
WORKDIR /app
RUN apt-get update && apt-get install -y --no-install-recommends python3 make g++ && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY engine engine
COPY bench bench
COPY test/support test/support
RUN npm run build && npm prune --omit=dev

FROM node:20-bookworm-slim
WORKDIR /app
# DejaVu fonts: the PDF/A report embeds them (PDF/A forbids unembedded fonts).
RUN apt-get update && apt-get install -y --no-install-recommends fonts-dejavu-core && rm -rf /var/lib/apt/lists/*
# The ANS CI-SIS kit is not in the image: mount it at /ans-kit (README "ANS kit"; on the host,
# `node dist/engine/cli/main.js kit` finds or fetches it into var/ans-kit, docker-compose's default).
ENV NODE_ENV=production PASSERELLE_EMBEDDED_REDIS=0 PASSERELLE_ANS_KIT=/ans-kit PASSERELLE_CACHE_DIR=/app/var/cache
COPY --from=build /app/node_modules node_modules
COPY --from=build /app/dist dist
COPY package.json ./
COPY channels channels
COPY mappings mappings
# The console listens on every interface inside the container (publish it on the host's loopback,
# as docker-compose.yml does, or behind a TLS proxy); its first admin password is written to
# /app/var/console/initial-admin-password (README "Quick start").
ENV PASSERELLE_HTTP_ADDR=0.0.0.0:8080
EXPOSE 2575 2576 2577 2579 8080
USER node
CMD ["node", "dist/engine/cli/main.js", "start", "--channels", "channels"]
