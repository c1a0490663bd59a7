# One image for every feedflow process; the compose file picks the entrypoint per service.
FROM node:20-bookworm-slim AS deps
WORKDIR /app
ENV ONNXRUNTIME_NODE_INSTALL=skip
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund

FROM node:20-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production
COPY --from=deps /app/node_modules ./node_modules
COPY package.json tsconfig.json ./
# Whole folders, one per room of the layout, so a new module in any of them ships without editing this file
# (.dockerignore keeps local data out). test/image.test.ts loads every entry point from exactly this file set.
COPY gen ./gen
COPY lib ./lib
COPY domain ./domain
COPY stores ./stores
COPY handoff ./handoff
COPY pipeline ./pipeline
COPY services ./services
COPY workflows ./workflows
COPY activities ./activities
COPY workers ./workers
COPY models ./models
COPY ranking ./ranking
# The workflow bundle, built once here as root: the workers (user node) load it and cannot replace it, and refuse
# to start if it does not match the workflow sources beside it (workers/bundle.ts).
COPY scripts/build-bundle.ts ./scripts/build-bundle.ts
RUN node --require tsx/cjs scripts/build-bundle.ts
USER node
# tsx runs the TypeScript sources directly.
ENTRYPOINT ["node", "--require", "tsx/cjs"]
CMD ["services/command/server.ts"]
