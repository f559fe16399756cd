# tl worker image for the GPU task queue. Built by infra/docker-compose.yml with the repository root
# as context and run with an NVIDIA device reservation:
#   docker build -f infra/docker/worker-gpu.Dockerfile -t tl-worker-gpu .
# Same code as worker.Dockerfile; the difference is that the NVIDIA Container Toolkit is asked
# to mount the host driver (compute + utility, i.e. CUDA and nvidia-smi) into the container.

FROM node:20-bookworm-slim AS build
WORKDIR /app
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
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates dataset-fashion-mnist \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
ENV NODE_ENV=production
COPY package.json package-lock.json ./
RUN npm ci --omit=dev && npm cache clean --force
COPY --from=build /app/dist ./dist
COPY bin ./bin
# Read by the NVIDIA Container Toolkit: which GPUs and which driver libraries to inject.
ENV NVIDIA_VISIBLE_DEVICES=all \
    NVIDIA_DRIVER_CAPABILITIES=compute,utility
USER node
ENV TL_WORK_DIR=/tmp/tl-work
CMD ["node", "bin/tl", "worker", "--queue", "gpu"]
