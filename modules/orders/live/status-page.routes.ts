import type { OpenAPIHono } from "@hono/zod-openapi";

const page = Bun.file(new URL("../public/index.html", import.meta.url));

/** The status page at `/` and `/index.html`. */
export function mountStatusPage(app: OpenAPIHono): void {
  const servePage = async () =>
    new Response(await page.text(), { headers: { "content-type": "text/html; charset=utf-8", "cache-control": "no-cache" } });
  app.get("/", servePage);
  app.get("/index.html", servePage);
}
