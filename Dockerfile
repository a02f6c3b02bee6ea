# syntax=docker/dockerfile:1
# The Warren operator image: compiled JavaScript on a pinned Node 24 runtime, run as a non-root user.
# Build: docker build -t warren:0.1.0 .

ARG NODE_IMAGE=node:24.21.0-trixie-slim

# Production dependencies only (the Node binary package and the toolchain are dev dependencies).
FROM ${NODE_IMAGE} AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund

# Compile src/ to dist/ with the locked toolchain (install scripts on: the node package links its binary).
FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build

FROM ${NODE_IMAGE}
ENV NODE_ENV=production
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json ./
# The image's node user, by number so Kubernetes can verify runAsNonRoot.
USER 1000:1000
EXPOSE 8080 8081
# Exec form: the same command as `npm start`, with no shell in between, so SIGTERM reaches the operator.
ENTRYPOINT ["node", "--max-semi-space-size=4", "dist/main.js"]
