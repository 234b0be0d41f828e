import { describe, expect, test } from "bun:test";
import { OpenAPIHono, createRoute, z } from "@hono/zod-openapi";
import { createLogger } from "../logger";
import { createApp, type CreateAppOptions } from "./create-app";
import { HttpProblem } from "./problem";

const sampleId = "0b6f3c1e-8d2a-4c3b-9f1e-2a7d5c4b3a21";

/** A module-like router: mounted as a direct OpenAPIHono sub-app, with no hook of its own. */
function sampleRoutes(): OpenAPIHono {
  const routes = new OpenAPIHono();
  const create = createRoute({
    method: "post",
    path: "/api/samples",
    request: { body: { required: true, content: { "application/json": { schema: z.object({ amount: z.number().positive() }) } } } },
    responses: { 201: { description: "Created", content: { "application/json": { schema: z.object({ amount: z.number() }) } } } },
  });
  const read = createRoute({
    method: "get",
    path: "/api/samples/{id}",
    request: { params: z.object({ id: z.uuid() }) },
    responses: { 200: { description: "Found", content: { "application/json": { schema: z.object({ id: z.string() }) } } } },
  });
  routes.openapi(create, (c) => c.json({ amount: c.req.valid("json").amount }, 201));
  routes.openapi(read, (c) => c.json({ id: c.req.valid("param").id }, 200));
  routes.get("/api/conflict", () => {
    throw new HttpProblem(409, "Sample exists", { headers: { "x-sample": "yes" } });
  });
  routes.get("/api/crash", () => {
    throw new Error("connection string postgres://secret@db leaked?");
  });
  return routes;
}

function build(options: Partial<CreateAppOptions> = {}) {
  const lines: Record<string, unknown>[] = [];
  const logger = createLogger({ write: (line) => lines.push(JSON.parse(line)) });
  const app = createApp({ logger, ...options });
  app.route("/", sampleRoutes());
  return { app, lines };
}

const postJson = (body: string, contentType = "application/json") => ({ method: "POST", body, headers: { "content-type": contentType } });

async function expectProblem(response: Response, status: number) {
  expect(response.status).toBe(status);
  expect(response.headers.get("content-type")).toBe("application/problem+json");
  const body = (await response.json()) as Record<string, unknown>;
  // Not toMatchObject with expect.any(String): bun 1.4.5 then boxes the received strings in place.
  expect(body).toMatchObject({ type: "about:blank", status });
  expect([typeof body.title, typeof body.detail]).toEqual(["string", "string"]);
  return body;
}

describe("errors are problem+json", () => {
  test("an unknown path is 404", async () => {
    const body = await expectProblem(await build().app.request("/nowhere"), 404);
    expect(body).toMatchObject({ title: "Not Found", detail: "No route for GET /nowhere" });
  });

  test("a body that fails validation is 400 with errors", async () => {
    const body = await expectProblem(await build().app.request("/api/samples", postJson('{"amount":"ten"}')), 400);
    expect(body.title).toBe("Bad Request");
    expect(body.errors).toEqual([{ location: "body", field: "amount", message: expect.any(String) }]);
  });

  test("a path parameter that fails validation is 400 with errors", async () => {
    const body = await expectProblem(await build().app.request("/api/samples/not-a-uuid"), 400);
    expect(body.errors).toEqual([{ location: "path", field: "id", message: expect.any(String) }]);
  });

  test("malformed JSON is 400", async () => {
    await expectProblem(await build().app.request("/api/samples", postJson('{"amount":')), 400);
  });

  test("a body of another media type is 415", async () => {
    await expectProblem(await build().app.request("/api/samples", postJson("amount=1", "text/plain")), 415);
  });

  test("an HttpProblem answers with its status and headers", async () => {
    const response = await build().app.request("/api/conflict");
    expect(await expectProblem(response, 409)).toMatchObject({ title: "Conflict", detail: "Sample exists" });
    expect(response.headers.get("x-sample")).toBe("yes");
  });

  test("anything else is 500, logged, with nothing internal in the answer", async () => {
    const { app, lines } = build();
    const response = await app.request("/api/crash");
    const text = JSON.stringify(await expectProblem(response, 500));
    expect(text).not.toContain("secret");
    expect(lines).toContainEqual(expect.objectContaining({ level: "error", path: "/api/crash" }));
    expect(JSON.stringify(lines)).toContain("leaked?");
  });

  test("a valid request reaches the handler", async () => {
    const response = await build().app.request("/api/samples", postJson('{"amount":10.5}'));
    expect(response.status).toBe(201);
    expect(await response.json()).toEqual({ amount: 10.5 });
  });
});

describe("paths match case-insensitively", () => {
  test.each(["/API/Samples/" + sampleId.toUpperCase(), "/api/SAMPLES/" + sampleId, "/Health/Live"])("%s", async (path) => {
    expect((await build().app.request(path)).status).toBe(200);
  });

  test("path parameters arrive lower-cased", async () => {
    const response = await build().app.request("/api/samples/" + sampleId.toUpperCase());
    expect(await response.json()).toEqual({ id: sampleId });
  });
});

describe("documentation", () => {
  test("/openapi.json is OpenAPI 3.1 with the mounted routes", async () => {
    const response = await build().app.request("/openapi.json");
    expect(response.status).toBe(200);
    const document = (await response.json()) as { openapi: string; info: { title: string }; paths: Record<string, Record<string, unknown>> };
    expect(document.openapi).toBe("3.1.0");
    expect(document.info.title).toBe("Gozon");
    expect(Object.keys(document.paths["/api/samples"] ?? {})).toEqual(["post"]);
    expect(Object.keys(document.paths["/api/samples/{id}"] ?? {})).toEqual(["get"]);
    expect(document.paths["/health/ready"]).toBeDefined();
  });

  test("/docs is Swagger UI whose assets this process serves", async () => {
    const { app } = build();
    const page = await app.request("/docs");
    expect(page.status).toBe(200);
    expect(page.headers.get("content-type")).toStartWith("text/html");
    const html = await page.text();
    const assets = [...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((match) => match[1] ?? "");
    expect(assets).toContain("/docs/swagger-ui.css");
    expect(assets).toContain("/docs/swagger-ui-bundle.js");
    expect(assets.every((asset) => asset.startsWith("/docs/"))).toBe(true);
    for (const asset of assets) {
      const response = await app.request(asset);
      expect(response.status).toBe(200);
      const expected = asset.endsWith(".css") ? "text/css" : asset.endsWith(".js") ? "text/javascript" : "image/png";
      expect(response.headers.get("content-type")).toStartWith(expected);
      expect((await response.arrayBuffer()).byteLength).toBeGreaterThan(100);
    }
    expect(await (await app.request("/docs/swagger-initializer.js")).text()).toContain('"/openapi.json"');
  });

  test("/docs serves only its own assets", async () => {
    await expectProblem(await build().app.request("/docs/package.json"), 404);
  });
});

describe("health", () => {
  test("/health/live is 200", async () => {
    const response = await build().app.request("/health/live");
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ status: "ok" });
  });

  test("/health/ready is 200 when every probe answers", async () => {
    const { app } = build({ readiness: { bus: async () => true, "orders database": async () => true } });
    const response = await app.request("/health/ready");
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ status: "ok", checks: { bus: "up", "orders database": "up" } });
  });

  test("/health/ready is 503 naming what is down, failed, or hung", async () => {
    const { app } = build({
      probeTimeoutMs: 50,
      readiness: {
        bus: async () => true,
        "orders database": async () => false,
        "payments database": () => Promise.reject(new Error("refused")),
        cache: () => new Promise(() => {}),
      },
    });
    const body = await expectProblem(await app.request("/health/ready"), 503);
    expect(body.detail).toBe("Not ready: orders database, payments database, cache down");
    expect(body.checks).toEqual({ bus: "up", "orders database": "down", "payments database": "down", cache: "down" });
  });
});
