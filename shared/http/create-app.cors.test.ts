import { describe, expect, test } from "bun:test";
import { OpenAPIHono } from "@hono/zod-openapi";
import { createLogger } from "../logger";
import { createApp } from "./create-app";
import { HttpProblem } from "./problem";

const page = "http://localhost:8080";

function build(corsOrigins?: string[]) {
  const app = createApp({ logger: createLogger({ write: () => {} }), corsOrigins });
  const routes = new OpenAPIHono();
  routes.post("/api/things", (c) => c.json({ ok: true }, 200));
  routes.get("/api/missing", () => {
    throw new HttpProblem(404, "No such thing");
  });
  app.route("/", routes);
  return app;
}

const preflight = (origin: string) => ({
  method: "OPTIONS",
  headers: { origin, "access-control-request-method": "POST", "access-control-request-headers": "authorization,content-type,idempotency-key" },
});

describe("CORS on /api, for the configured origins only", () => {
  test("a preflight from an allowed origin is answered with the headers the page sends", async () => {
    const response = await build([page]).request("/api/things", preflight(page));
    expect(response.status).toBe(204);
    expect(response.headers.get("access-control-allow-origin")).toBe(page);
    expect(response.headers.get("access-control-allow-methods")).toBe("GET,POST");
    expect(response.headers.get("access-control-allow-headers")?.split(",").sort()).toEqual(["authorization", "content-type", "idempotency-key"]);
  });

  test("answers and problem+json errors carry the allowed origin, so the page can read them", async () => {
    const app = build([page]);
    const ok = await app.request("/api/things", { method: "POST", headers: { origin: page } });
    expect(ok.headers.get("access-control-allow-origin")).toBe(page);
    const problem = await app.request("/api/missing", { headers: { origin: page } });
    expect(problem.status).toBe(404);
    expect(problem.headers.get("content-type")).toBe("application/problem+json");
    expect(problem.headers.get("access-control-allow-origin")).toBe(page);
  });

  test("another origin gets no allowance", async () => {
    const response = await build([page]).request("/api/things", preflight("https://evil.example"));
    expect(response.headers.get("access-control-allow-origin")).toBeNull();
  });

  test("without configured origins there is no CORS at all", async () => {
    const response = await build().request("/api/things", { method: "POST", headers: { origin: page } });
    expect(response.headers.get("access-control-allow-origin")).toBeNull();
  });
});
