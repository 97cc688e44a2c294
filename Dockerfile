# syntax=docker/dockerfile:1
# namespace-isolation-controller: built with Node.js 24, run as uid 1000 from an image that holds
# only what runs: the Node binary and the libraries it links, CA certificates, and the bundled
# controller (dist/, which needs no node_modules). No shell, no npm.
#
#   npm run image                      (Docker, or podman with an offline base: scripts/image.ts)
#   docker build --build-arg VERSION=$(node -p "require('./package.json').version") .
#
# NODE_IMAGE is any Debian image with Node.js 24 and npm at /usr/local/bin; the offline build
# passes one made from Debian's packages and the npm `node` package.
ARG NODE_IMAGE=node:24-bookworm-slim

# Bundle the TypeScript into dist/main.js (scripts/build.ts, esbuild). --ignore-scripts: the `node`
# devDependency would download a second Node.js (the image has Node 24), and the script is run
# directly so that npm's PATH does not pick that one. client-node is bundled too, as a chunk of
# its own that only exec-credential kubeconfigs load.
FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY scripts/build.ts ./scripts/build.ts
COPY src ./src
RUN node scripts/build.ts

# The root filesystem: node and the shared libraries ldd names, CA certificates (node:*-slim has
# none; the offline base has them), and the user the controller runs as.
FROM ${NODE_IMAGE} AS rootfs
RUN if [ ! -f /etc/ssl/certs/ca-certificates.crt ]; then \
      apt-get update && apt-get install -y --no-install-recommends ca-certificates; fi \
 && mkdir -p /rootfs/usr/local/bin /rootfs/etc/ssl/certs /rootfs/tmp \
 && cp /usr/local/bin/node /rootfs/usr/local/bin/node \
 && for lib in $(ldd /usr/local/bin/node | grep -o '/[^ ]*'); do cp --parents -L "$lib" /rootfs; done \
 && cp /etc/ssl/certs/ca-certificates.crt /rootfs/etc/ssl/certs/ \
 && echo 'nonroot:x:1000:1000::/app:/nonexistent' > /rootfs/etc/passwd \
 && echo 'nonroot:x:1000:' > /rootfs/etc/group \
 && chmod 1777 /rootfs/tmp

FROM scratch
ARG VERSION=unknown
LABEL org.opencontainers.image.title="namespace-isolation-controller" \
      org.opencontainers.image.description="Keeps a standard set of NetworkPolicies in every namespace labelled isolation=strict" \
      org.opencontainers.image.source="https://github.com/namespace-isolation-controller/namespace-isolation-controller" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.licenses="Apache-2.0"
COPY --from=rootfs /rootfs /
ENV NODE_ENV=production
WORKDIR /app
COPY package.json ./
COPY config/controller.yaml ./config/controller.yaml
COPY --from=build /app/dist ./dist
# By number, so that runAsNonRoot can verify it.
USER 1000:1000
EXPOSE 8080 8081
ENTRYPOINT ["/usr/local/bin/node", "dist/main.js"]
