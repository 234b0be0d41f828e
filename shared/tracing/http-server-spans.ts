import { context, propagation, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, type Tracer } from "@opentelemetry/api";
import {
  ATTR_ERROR_TYPE,
  ATTR_HTTP_REQUEST_METHOD,
  ATTR_HTTP_RESPONSE_STATUS_CODE,
  ATTR_HTTP_ROUTE,
  ATTR_SERVER_ADDRESS,
  ATTR_SERVER_PORT,
  ATTR_URL_PATH,
  ATTR_URL_SCHEME,
  ATTR_USER_AGENT_ORIGINAL,
} from "@opentelemetry/semantic-conventions";
import type { MiddlewareHandler } from "hono";
import { routePath } from "hono/route";

/** Probes and scrapes would bury the requests that matter. */
const untraced = (path: string) => path.startsWith("/health/") || path === "/metrics";

const headerGetter = {
  get: (headers: Headers, key: string) => headers.get(key) ?? undefined,
  keys: (headers: Headers) => {
    const names: string[] = [];
    headers.forEach((_, name) => names.push(name));
    return names;
  },
};

/**
 * A SERVER span per request, following the HTTP semantic conventions: named `METHOD route`
 * (`POST /api/orders`), a child of the caller's `traceparent` when it sends one (a new root
 * otherwise), the status an error from 500 on. The caller's `baggage` is not taken: the entries
 * this system puts there become attributes, and a caller does not get to choose them. The
 * handler runs in the span, so what it stores (outbox rows) and logs carries its context.
 */
export function httpServerSpans(tracer: Tracer): MiddlewareHandler {
  return async (c, next) => {
    const url = new URL(c.req.url);
    if (untraced(url.pathname)) return next();
    const method = c.req.method;
    const parent = propagation.deleteBaggage(propagation.extract(ROOT_CONTEXT, c.req.raw.headers, headerGetter));
    const userAgent = c.req.header("user-agent");
    const span = tracer.startSpan(
      method,
      {
        kind: SpanKind.SERVER,
        attributes: {
          [ATTR_HTTP_REQUEST_METHOD]: method,
          [ATTR_URL_PATH]: url.pathname,
          [ATTR_URL_SCHEME]: url.protocol.replace(":", ""),
          [ATTR_SERVER_ADDRESS]: url.hostname,
          [ATTR_SERVER_PORT]: Number(url.port || (url.protocol === "https:" ? 443 : 80)),
          ...(userAgent !== undefined && { [ATTR_USER_AGENT_ORIGINAL]: userAgent }),
        },
      },
      parent,
    );
    try {
      await context.with(trace.setSpan(parent, span), next);
    } finally {
      const route = routePath(c, -1);
      if (route !== "*" && route !== "/*") {
        span.updateName(`${method} ${route}`);
        span.setAttribute(ATTR_HTTP_ROUTE, route);
      }
      const status = c.res.status;
      span.setAttribute(ATTR_HTTP_RESPONSE_STATUS_CODE, status);
      if (status >= 500) {
        if (c.error) span.recordException(c.error);
        span.setAttribute(ATTR_ERROR_TYPE, c.error?.name ?? String(status));
        span.setStatus({ code: SpanStatusCode.ERROR });
      }
      span.end();
    }
  };
}
