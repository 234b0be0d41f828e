import type { OpenAPIHono } from "@hono/zod-openapi";
import { upgradeWebSocket } from "hono/bun";
import type { AuthPolicy } from "../../../shared/http/auth";
import { HttpProblem } from "../../../shared/http/problem";
import type { OrderUpdatesHub } from "./order-updates-hub";

const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const page = Bun.file(new URL("../public/index.html", import.meta.url));

/**
 * The live side of Orders on `app`: the status page at `/` and `/index.html`, and `GET /ws?userId=…`,
 * a WebSocket that carries `{"type":"order.updated","order":{…}}` for each change of that user's
 * orders. Before the upgrade, a bad user id is refused with 400 and, with AUTH=jwt, a missing or bad
 * `?access_token=` with 401 and another user's id with 403; a request that is no upgrade with 426.
 */
export function mountLiveRoutes(app: OpenAPIHono, hub: OrderUpdatesHub, auth: AuthPolicy): void {
  const servePage = async () =>
    new Response(await page.text(), { headers: { "content-type": "text/html; charset=utf-8", "cache-control": "no-cache" } });
  app.get("/", servePage);
  app.get("/index.html", servePage);

  app.get(
    "/ws",
    auth.authenticateQuery("access_token"),
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
      let remove: (() => void) | undefined;
      return {
        onOpen: (_event, socket) => {
          const raw = socket.raw as { cork?(callback: () => void): void } | undefined;
          remove = hub.add(userId, {
            send: (data) => socket.send(data),
            ...(raw?.cork && { cork: (sends: () => void) => void raw.cork!(sends) }),
          });
        },
        onClose: () => remove?.(),
        onError: () => remove?.(),
      };
    }),
  );
}
