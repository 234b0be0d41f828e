import type { MiddlewareHandler } from "hono";
import { websocket } from "hono/bun";
import { HttpProblem } from "./problem";

/** The largest frame a client may send (bytes): our WebSockets only push; a bigger one closes the socket (1009). */
export const maxClientFrameBytes = 1024;

/**
 * What one socket may have waiting to be sent (bytes). Past it Bun drops the message (`send`
 * returns 0): the owner of the socket then closes it rather than let it miss updates.
 */
export const maxBufferedBytes = 1024 * 1024;

/** Hono's Bun WebSocket handler for `Bun.serve`, with the limits above. */
export const webSocketHandler = { ...websocket, maxPayloadLength: maxClientFrameBytes, backpressureLimit: maxBufferedBytes, closeOnBackpressureLimit: false };

/**
 * The subprotocol that carries a bearer token where a browser cannot set headers: the client
 * offers `Sec-WebSocket-Protocol: bearer, <JWT>` (`new WebSocket(url, ["bearer", jwt])`), and the
 * upgrade answers `bearer` (Bun selects the first protocol offered), never the token.
 */
export const bearerProtocol = "bearer";

/**
 * The token of a `Sec-WebSocket-Protocol` header in the form above; undefined when there is no
 * header. Any other form is a 400: its first protocol would be the answer, and may be a token.
 */
export function tokenOfProtocols(header: string | undefined): string | undefined {
  if (header === undefined) return undefined;
  const protocols = header.split(",").map((protocol) => protocol.trim());
  if (protocols.length !== 2 || protocols[0] !== bearerProtocol || !protocols[1]) {
    throw new HttpProblem(400, `Sec-WebSocket-Protocol must be "${bearerProtocol}, <JWT>" (new WebSocket(url, ["${bearerProtocol}", token]))`);
  }
  return protocols[1];
}

/**
 * Refuses (403) a WebSocket upgrade from a browser page of another origin, which would otherwise
 * ride on whatever the browser sends on its own (cross-site WebSocket hijacking). Allowed: no
 * `Origin` (not a browser), the request's own host (same origin, whatever the scheme a proxy in
 * front terminated), and the origins in `allowed` (CORS_ORIGINS).
 */
export function webSocketOriginCheck(allowed: readonly string[]): MiddlewareHandler {
  return async (c, next) => {
    const origin = c.req.header("origin");
    if (origin !== undefined && c.req.header("upgrade")?.toLowerCase() === "websocket") {
      const host = URL.canParse(origin) ? new URL(origin).host : undefined;
      if (host !== c.req.header("host") && !allowed.includes(origin.toLowerCase())) {
        throw new HttpProblem(403, `WebSocket connections from the origin ${JSON.stringify(origin.slice(0, 200))} are not allowed (CORS_ORIGINS)`);
      }
    }
    await next();
  };
}
