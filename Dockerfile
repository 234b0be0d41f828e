# One image for both services (MODE picks the context). Dependencies are installed by npm from
# the lockfile, exactly as CI does; the runtime is the official Bun image, as a non-root user.
FROM node:20-bookworm-slim AS dependencies
WORKDIR /app
COPY package.json package-lock.json ./
# bun itself is a dev dependency (for npm-only machines); the runtime image brings its own.
RUN npm ci --omit=dev --ignore-scripts

FROM oven/bun:1.4.5-slim
WORKDIR /app
ENV NODE_ENV=production
COPY --from=dependencies /app/node_modules ./node_modules
COPY package.json tsconfig.json bunfig.toml main.ts ./
COPY shared ./shared
COPY modules ./modules
RUN mkdir -p /app/.data && chown bun:bun /app/.data
USER bun
EXPOSE 8080 8081
HEALTHCHECK --interval=5s --timeout=3s --start-period=30s --retries=5 \
  CMD ["bun", "-e", "const r = await fetch(`http://127.0.0.1:${process.env.PORT ?? 8080}/health/ready`); process.exit(r.ok ? 0 : 1)"]
CMD ["bun", "run", "main.ts"]
