# driftgate gateway image. Build: docker build -t driftgate .
FROM node:20-bookworm-slim AS build
WORKDIR /app
ENV ONNXRUNTIME_NODE_INSTALL=skip
COPY package.json package-lock.json .npmrc ./
RUN npm ci
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build && npm prune --omit=dev

FROM node:20-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production PORT=8080 DRIFTGATE_MODEL_REPO=/models
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json ./
# The gRPC server loads the vendored protocol files at run time, from the package root.
COPY proto ./proto
COPY models /models
USER node
EXPOSE 8080 8001
# SIGTERM: readiness off, in-flight requests finish, then exit (DRIFTGATE_SHUTDOWN_GRACE_MS).
STOPSIGNAL SIGTERM
ENTRYPOINT ["node", "dist/cli/main.js"]
CMD ["serve"]
