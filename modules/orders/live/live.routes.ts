import type { OpenAPIHono } from "@hono/zod-openapi";
import type { ServerWebSocket } from "bun";
import { upgradeWebSocket } from "hono/bun";
import type { AuthPolicy } from "../../../shared/http/auth";
import { HttpProblem } from "../../../shared/http/problem";
import { liveCloseCodes, type OrderUpdatesHub } from "./order-updates-hub";
import { mountStatusPage } from "./status-page.routes";

const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** setTimeout's longest delay (about 24.8 days); a later expiry is waited for in steps. */
const longestTimer = 2 ** 31 - 1;

/**
 * The live side of Orders on `app`: the status page, and `GET /ws?userId=…`, a WebSocket that
 * carries `{"type":"order.updated","order":{…}}` for each change of that user's orders. Before the
 * upgrade, a bad user id is refused with 400 and, with AUTH=jwt, a missing or bad token
 * (`Sec-WebSocket-Protocol: bearer, <JWT>` or `?access_token=`) with 401 and another user's id
 * with 403; a request that is no upgrade with 426. With AUTH=jwt the socket is closed (4401) when
 * its token expires; the hub closes sockets over its caps and those that cannot keep up.
 */
export function mountLiveRoutes(app: OpenAPIHono, hub: OrderUpdatesHub, auth: AuthPolicy): void {
  mountStatusPage(app);
  app.get(
    "/ws",
    auth.authenticateWebSocket("access_token"),
    async (c, next) => {
      const userId = c.req.query("userId");
      if (!userId || !uuid.test(userId)) throw new HttpProblem(400, "userId must be a UUID: /ws?userId=<uuid>");
      auth.assertMayActFor(c, userId);
      // A plain GET would otherwise fall through the upgrade to "no route": say what it needs.
      if (c.req.header("upgrade")?.toLowerCase() !== "websocket") {
        throw new HttpProblem(426, "GET /ws is a WebSocket: send Upgrade: websocket", { headers: { upgrade: "websocket" } });
      }
      await next();
    },
    upgradeWebSocket((c) => {
      const userId = c.req.query("userId")!.toLowerCase();
      const expiresAt = c.get("caller")?.expiresAt;
      let remove: (() => void) | undefined;
      let expiry: ReturnType<typeof setTimeout> | undefined;
      let open = true;
      const closed = () => {
        open = false;
        clearTimeout(expiry);
        remove?.();
      };
      return {
        onOpen: (_event, socket) => {
          const raw = socket.raw as ServerWebSocket<unknown>;
          remove = hub.add(userId, {
            // 0: Bun dropped it, the socket's buffer being full (-1: queued behind others).
            send: (data) => raw.send(data) !== 0,
            cork: (sends) => void raw.cork(sends),
            close: (code, reason) => raw.close(code, reason),
          });
          if (expiresAt === undefined) return;
          const expire = () => {
            if (!open) return;
            const left = expiresAt - Date.now();
            if (left > 0) expiry = setTimeout(expire, Math.min(left, longestTimer));
            else raw.close(liveCloseCodes.tokenExpired, "the access token expired: reconnect with a new one");
          };
          expire();
        },
        onClose: closed,
        onError: closed,
      };
    }),
  );
}
