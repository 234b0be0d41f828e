import { expect, test } from "bun:test";
import { OpenAPIHono } from "@hono/zod-openapi";
import { createLogger } from "../logger";
import { createApp } from "./create-app";
import { HttpProblem } from "./problem";

const payments = "https://payments.shop.example";

function build() {
  const app = createApp({ logger: createLogger({ write: () => {} }), connectSources: [payments] });
  const routes = new OpenAPIHono();
  routes.get("/", (c) => c.html("<!doctype html><title>page</title>"));
  routes.post("/api/things", (c) => c.json({ ok: true }, 200));
  routes.get("/api/missing", () => {
    throw new HttpProblem(404, "No such thing");
  });
  app.route("/", routes);
  return app;
}

test("every answer (page, API, problem, docs, no route) says what a browser may do with it", async () => {
  const app = build();
  const answers = [
    await app.request("/"),
    await app.request("/api/things", { method: "POST" }),
    await app.request("/api/missing"),
    await app.request("/docs"),
    await app.request("/health/live"),
    await app.request("/nowhere"),
  ];
  for (const response of answers) {
    const what = `${response.status} ${response.headers.get("content-type")}`;
    expect(response.headers.get("x-content-type-options"), what).toBe("nosniff");
    expect(response.headers.get("x-frame-options"), what).toBe("DENY");
    const policy = Object.fromEntries(
      (response.headers.get("content-security-policy") ?? "").split(";").map((directive) => {
        const [name, ...sources] = directive.trim().split(/\s+/);
        return [name, sources];
      }),
    );
    expect(policy, what).toMatchObject({
      "default-src": ["'self'"],
      "script-src": ["'self'"],
      "style-src": ["'self'"],
      "connect-src": ["'self'", payments],
      "object-src": ["'none'"],
      "base-uri": ["'none'"],
      "frame-ancestors": ["'none'"],
    });
  }
  expect(answers.map((response) => response.status)).toEqual([200, 200, 404, 200, 200, 404]);
});
