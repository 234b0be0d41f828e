import type { OpenAPIHono } from "@hono/zod-openapi";

const html = "text/html; charset=utf-8";
/**
 * The status page's files, by path. Its scripts and styles are files of their own, never inline,
 * so the Content-Security-Policy every answer carries (`script-src 'self'`) lets them run.
 */
const files: Record<string, { name: string; type: string }> = {
  "/": { name: "index.html", type: html },
  "/index.html": { name: "index.html", type: html },
  "/status-page.css": { name: "status-page.css", type: "text/css; charset=utf-8" },
  "/problem-text.js": { name: "problem-text.js", type: "text/javascript; charset=utf-8" },
  "/account-panel.js": { name: "account-panel.js", type: "text/javascript; charset=utf-8" },
  "/status-page.js": { name: "status-page.js", type: "text/javascript; charset=utf-8" },
};

/** The status page at `/` and `/index.html`, and the files it loads. */
export function mountStatusPage(app: OpenAPIHono): void {
  for (const [path, { name, type }] of Object.entries(files)) {
    const file = Bun.file(new URL(`../public/${name}`, import.meta.url));
    app.get(path, () => new Response(file, { headers: { "content-type": type, "cache-control": "no-cache" } }));
  }
}
