# syntax=docker/dockerfile:1
# namespace-isolation-controller: compiled with Node.js 24, run on Node.js 24 as a non-root user
# with production dependencies only. `docker build -t namespace-isolation-controller .`

# Bundle the TypeScript into dist/main.js (scripts/build.ts, esbuild). --ignore-scripts: the `node`
# devDependency would download a second Node.js (the image has Node 24), and the script is run
# directly so that npm's PATH does not pick that one.
FROM node:24-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY scripts/build.ts ./scripts/build.ts
COPY src ./src
RUN node scripts/build.ts

# Production dependencies only.
FROM node:24-bookworm-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force

FROM node:24-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json ./
COPY config/controller.yaml ./config/controller.yaml
# The image's `node` user, by number so that runAsNonRoot can verify it.
USER 1000:1000
EXPOSE 8080 8081
ENTRYPOINT ["node", "dist/main.js"]
