# tl worker image (CPU). Built by infra/docker-compose.yml with the repository root as context:
#   docker build -f infra/docker/worker.Dockerfile -t tl-worker .
# Runs `node bin/tl worker --queue cpu`; configure it with the TL_* variables of lib/config.ts.

FROM node:20-bookworm-slim AS build
WORKDIR /app
# Dependencies first, so source edits do not invalidate the npm layer.
COPY package.json package-lock.json ./
RUN npm ci
COPY tsconfig.json ./
COPY bin ./bin
COPY contracts ./contracts
COPY temporal ./temporal
COPY lib ./lib
COPY activities ./activities
COPY workflows ./workflows
COPY workers ./workers
COPY cli ./cli
COPY infra ./infra
RUN npm run build

FROM node:20-bookworm-slim
# Fashion-MNIST from Debian, at TL_FASHION_MNIST_DIR's default (/usr/share/datasets/fashion-mnist).
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates dataset-fashion-mnist \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
ENV NODE_ENV=production
COPY package.json package-lock.json ./
RUN npm ci --omit=dev && npm cache clean --force
COPY --from=build /app/dist ./dist
COPY bin ./bin
# The node image's unprivileged user (uid 1000); it owns nothing in /app, so the code is read-only to it.
USER node
ENV TL_WORK_DIR=/tmp/tl-work
CMD ["node", "bin/tl", "worker", "--queue", "cpu"]
