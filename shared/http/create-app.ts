import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { OpenAPIHono, createRoute, z, type Hook } from "@hono/zod-openapi";
import { bodyLimit } from "hono/body-limit";
import { cors } from "hono/cors";
import { secureHeaders } from "hono/secure-headers";
import type { Context, MiddlewareHandler } from "hono";
import { HTTPException } from "hono/http-exception";
import { getPath } from "hono/utils/url";
import packageJson from "../../package.json" with { type: "json" };
import { routePath } from "hono/route";
import type { Admission } from "../admission/admission";
import { OverloadedError, RequestAbandonedError } from "../admission/overloaded-error";
import { isDatabaseUnavailable } from "../db/unavailable";
import type { Logger } from "../logger";
import type { Metrics } from "../metrics";
import { webSocketOriginCheck } from "./websockets";
import { HttpProblem, ProblemSchema, problemContentType, problemResponse, statusTitle, validationProblem } from "./problem";

/** Largest request body on /api (bytes); a bigger one is refused with 413 before it is read whole. */
export const maxApiBodyBytes = 64 * 1024;

/** Seconds a client is asked to wait (Retry-After) when the database is unavailable. */
export const databaseRetryAfterSeconds = 2;

/** A named readiness check (database, bus): true when the dependency answers. */
export type ReadinessProbe = () => Promise<boolean>;

export interface CreateAppOptions {
  logger: Logger;
  /** `/health/ready` is 200 only when every probe resolves true within `probeTimeoutMs`. */
  readiness?: Record<string, ReadinessProbe>;
  /** Default 2 000 ms: a hung dependency counts as down rather than hanging the probe. */
  probeTimeoutMs?: number;
  /** When given: every request is counted and timed, and `GET /metrics` serves the registry. */
  metrics?: Metrics;
  /** Browser origins that may call `/api` and open WebSockets from another origin (CORS); none by default. */
  corsOrigins?: string[];
  /**
   * The process's bounded queues: a request one of them refuses is answered 503 with
   * `Retry-After` and counted per route, and `/health/ready` is 503 "overloaded" while any refuses.
   */
  admission?: Admission;
  /** Origins other than its own that this process's pages call (the payments API in split mode). */
  connectSources?: string[];
  /** When given (tracing on): runs first, around everything else, e.g. a server span per request. */
  serverSpans?: MiddlewareHandler;
}

/**
 * The process's root app: problem+json for every error, case-insensitive paths, health, the
 * OpenAPI 3.1 document and Swagger UI. Modules mount their OpenAPIHono routers on it with
 * `app.route("/", routes)` (only direct OpenAPIHono sub-apps reach the document) before the
 * process serves; their routes inherit the validation hook below.
 */
export function createApp(options: CreateAppOptions): OpenAPIHono {
  const { logger } = options;
  const app = new OpenAPIHono({
    // Paths match case-insensitively: the router sees the path lower-cased, so routes
    // are declared in lower case, and path parameters arrive lower-cased too. Our ids are UUIDs,
    // whose canonical text is lower case (RFC 9562), so modules compare ids in lower case.
    getPath: (request) => getPath(request).toLowerCase(),
    defaultHook: validationHook,
  });

  app.onError((error, c) => {
    if (error instanceof HttpProblem) return problemResponse(error.problem, error.headers);
    if (error instanceof HTTPException) {
      // Hono's own: malformed JSON (400), unsupported media type (415), auth middleware (401).
      const headers = new Headers(error.res?.headers);
      headers.delete("content-length");
      const detail = error.status === 415 ? "The request body must be JSON, sent with Content-Type: application/json" : error.message;
      return problemResponse({ type: "about:blank", title: statusTitle(error.status), status: error.status, detail }, headers);
    }
    if (error instanceof OverloadedError) {
      // Refused before anything was written: the client may simply try again later.
      options.metrics?.requestsShed.inc({ route: matchedRoute(c) });
      return problemResponse(
        { type: "about:blank", title: statusTitle(503), status: 503, detail: `The service is overloaded; nothing was done. Try again in ${error.retryAfterSeconds} s.` },
        { "retry-after": String(error.retryAfterSeconds) },
      );
    }
    if (error instanceof RequestAbandonedError) {
      // The client went away while its request waited: nothing was done, and nobody reads this
      // answer. 499 is nginx's "Client Closed Request", so the request is not counted as a failure.
      return problemResponse({ type: "about:blank", title: "Client Closed Request", status: 499, detail: error.message });
    }
    if (isDatabaseUnavailable(error)) {
      // Nobody's fault and it passes: the client may try again (with the same Idempotency-Key).
      logger.warn("database unavailable", { method: c.req.method, path: c.req.path, error: String(error) });
      return problemResponse(
        { type: "about:blank", title: statusTitle(503), status: 503, detail: "The database is unavailable; try again shortly." },
        { "retry-after": String(databaseRetryAfterSeconds) },
      );
    }
    logger.error("unhandled error", { method: c.req.method, path: c.req.path, error });
    return problemResponse({ type: "about:blank", title: statusTitle(500), status: 500, detail: "An unexpected error occurred." });
  });
  app.notFound((c) =>
    problemResponse({ type: "about:blank", title: statusTitle(404), status: 404, detail: `No route for ${c.req.method} ${c.req.path}` }),
  );

  if (options.serverSpans) app.use("*", options.serverSpans);
  app.use("*", securityHeaders(options.connectSources ?? []));
  if (options.metrics) mountMetrics(app, options.metrics);
  if (options.corsOrigins?.length) {
    // Before the body limit, so a preflight is answered as such. Bearer tokens, not cookies: no credentials.
    app.use("/api/*", cors({ origin: options.corsOrigins, allowMethods: ["GET", "POST"], allowHeaders: ["authorization", "content-type", "idempotency-key"], maxAge: 600 }));
  }
  app.use("*", webSocketOriginCheck(options.corsOrigins ?? []));
  app.use(
    "/api/*",
    bodyLimit({
      maxSize: maxApiBodyBytes,
      onError: () =>
        problemResponse({ type: "about:blank", title: statusTitle(413), status: 413, detail: `The request body is larger than ${maxApiBodyBytes} bytes` }),
    }),
  );
  mountHealth(app, options.readiness ?? {}, options.probeTimeoutMs ?? 2_000, options.admission);
  // Not app.doc31: it answers a generation failure with `{}`; thrown here, onError logs it.
  app.get("/openapi.json", (c) => c.json(app.getOpenAPI31Document({ openapi: "3.1.0", info: { title: "Gozon", version: packageJson.version } })));
  mountSwaggerUi(app);
  return app;
}

/**
 * What a browser may do with any answer: run scripts, styles and images of this origin only (no
 * inline script, no eval), call this origin (its WebSockets too) and `connectSources`, never be
 * framed, never sniff a type. Hono's defaults otherwise, but no Strict-Transport-Security: whether
 * a host is HTTPS-only, with its subdomains, is for the TLS front (a proxy) to declare.
 */
function securityHeaders(connectSources: string[]): MiddlewareHandler {
  return secureHeaders({
    contentSecurityPolicy: {
      defaultSrc: ["'self'"],
      scriptSrc: ["'self'"],
      styleSrc: ["'self'"],
      // Swagger UI draws some icons as data: images.
      imgSrc: ["'self'", "data:"],
      connectSrc: ["'self'", ...connectSources],
      objectSrc: ["'none'"],
      baseUri: ["'none'"],
      formAction: ["'self'"],
      frameAncestors: ["'none'"],
    },
    xFrameOptions: "DENY",
    strictTransportSecurity: false,
  });
}

const locations: Record<string, string> = { json: "body", form: "body", param: "path", query: "query", header: "header", cookie: "cookie" };

/** Every route's zod validation failure becomes one 400 problem+json with `errors`. */
const validationHook: Hook<unknown, any, string, Response | undefined> = (result) => {
  if (result.success) return;
  const location = locations[result.target] ?? result.target;
  return problemResponse(validationProblem(location, result.error.issues));
};

/** Counts and times every request by its route pattern (not its path: ids would explode the labels). */
function mountMetrics(app: OpenAPIHono, metrics: Metrics): void {
  app.use("*", async (c, next) => {
    const started = performance.now();
    await next();
    const route = matchedRoute(c);
    metrics.httpRequests.inc({ method: c.req.method, route, status: String(c.res.status) });
    metrics.httpDuration.observe({ method: c.req.method, route }, (performance.now() - started) / 1_000);
  });
  app.get("/metrics", async (c) =>
    c.body(await metrics.registry.metrics(), 200, { "content-type": metrics.registry.contentType }),
  );
}

/** The pattern of the route that answered (not the path: ids would explode metric labels). */
function matchedRoute(c: Context): string {
  const pattern = routePath(c, -1);
  return pattern === "*" || pattern === "/*" ? "(unmatched)" : pattern;
}

function mountHealth(app: OpenAPIHono, probes: Record<string, ReadinessProbe>, timeoutMs: number, admission: Admission | undefined): void {
  const live = createRoute({
    method: "get",
    path: "/health/live",
    tags: ["health"],
    summary: "The process is up",
    responses: { 200: { description: "Alive", content: { "application/json": { schema: z.object({ status: z.literal("ok") }) } } } },
  });
  const ready = createRoute({
    method: "get",
    path: "/health/ready",
    tags: ["health"],
    summary: "Every dependency (databases, bus) answers, and no queue is refusing requests",
    responses: {
      200: {
        description: "Ready",
        content: { "application/json": { schema: z.object({ status: z.literal("ok"), checks: z.record(z.string(), z.literal("up")) }) } },
      },
      503: { description: "A dependency is down, or the process is overloaded (shedding requests)", content: { [problemContentType]: { schema: ProblemSchema } } },
    },
  });
  app.openapi(live, (c) => c.json({ status: "ok" as const }, 200));
  app.openapi(ready, async (c) => {
    // Shedding: answered at once, without adding probes to the load.
    const shedding = admission?.shedding() ?? [];
    if (shedding.length > 0) {
      const problem = { type: "about:blank", title: statusTitle(503), status: 503, detail: `Overloaded: refusing requests (${shedding.join(", ")})`, overloaded: shedding };
      return c.json(problem, 503, { "content-type": problemContentType });
    }
    const names = Object.keys(probes);
    const results = await Promise.all(names.map((name) => answersWithin(probes[name], timeoutMs)));
    const down = names.filter((_, index) => !results[index]);
    if (down.length > 0) {
      const checks = Object.fromEntries(names.map((name, index) => [name, results[index] ? "up" : "down"]));
      const problem = { type: "about:blank", title: statusTitle(503), status: 503, detail: `Not ready: ${down.join(", ")} down`, checks };
      return c.json(problem, 503, { "content-type": problemContentType });
    }
    return c.json({ status: "ok" as const, checks: Object.fromEntries(names.map((name) => [name, "up" as const])) }, 200);
  });
}

/** True when the probe resolves true in time; a rejection or a timeout is false. */
async function answersWithin(probe: ReadinessProbe | undefined, timeoutMs: number): Promise<boolean> {
  if (!probe) return false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<boolean>((resolve) => (timer = setTimeout(resolve, timeoutMs, false)));
  try {
    return await Promise.race([probe().then((up) => up === true, () => false), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Swagger UI, its assets served by this process from swagger-ui-dist: no CDN, works offline. */
function mountSwaggerUi(app: OpenAPIHono): void {
  const directory = dirname(fileURLToPath(import.meta.resolve("swagger-ui-dist/package.json")));
  const assets: Record<string, string> = {
    "swagger-ui.css": "text/css; charset=utf-8",
    "swagger-ui-bundle.js": "text/javascript; charset=utf-8",
    "favicon-32x32.png": "image/png",
    "favicon-16x16.png": "image/png",
  };
  const page = `<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>Gozon API</title>
  <link rel="stylesheet" href="/docs/swagger-ui.css">
  <link rel="icon" type="image/png" href="/docs/favicon-32x32.png" sizes="32x32">
  <link rel="icon" type="image/png" href="/docs/favicon-16x16.png" sizes="16x16">
</head>
<body>
  <div id="swagger-ui"></div>
  <script src="/docs/swagger-ui-bundle.js"></script>
  <script src="/docs/swagger-initializer.js"></script>
</body>
</html>
`;
  const initializer = `window.onload = () => {
  window.ui = SwaggerUIBundle({ url: "/openapi.json", dom_id: "#swagger-ui", deepLinking: true, persistAuthorization: true });
};
`;
  app.on("GET", ["/docs", "/docs/"], (c) => c.html(page));
  app.get("/docs/swagger-initializer.js", (c) => c.body(initializer, 200, { "content-type": "text/javascript; charset=utf-8" }));
  app.get("/docs/:asset", (c) => {
    const asset = c.req.param("asset");
    const contentType = assets[asset];
    if (!contentType) return c.notFound();
    return new Response(Bun.file(join(directory, asset)), {
      headers: { "content-type": contentType, "cache-control": "public, max-age=86400" },
    });
  });
}
