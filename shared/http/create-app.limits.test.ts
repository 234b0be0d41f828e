import { describe, expect, test } from "bun:test";
import { OpenAPIHono, createRoute, z } from "@hono/zod-openapi";
import { DatabaseUnavailableError } from "../db/unavailable";
import { createLogger } from "../logger";
import { createApp, databaseRetryAfterSeconds, maxApiBodyBytes } from "./create-app";

/** A module-like router with a JSON route that counts the bodies it was handed. */
function build(failWith?: unknown) {
  const lines: Record<string, unknown>[] = [];
  const app = createApp({ logger: createLogger({ write: (line) => lines.push(JSON.parse(line)) }) });
  const routes = new OpenAPIHono();
  const handled: number[] = [];
  const create = createRoute({
    method: "post",
    path: "/api/samples",
    request: { body: { required: true, content: { "application/json": { schema: z.object({ text: z.string() }) } } } },
    responses: { 201: { description: "Created", content: { "application/json": { schema: z.object({ length: z.number() }) } } } },
  });
  routes.openapi(create, (c) => {
    handled.push(c.req.valid("json").text.length);
    return c.json({ length: c.req.valid("json").text.length }, 201);
  });
  routes.get("/api/failing", () => {
    throw failWith;
  });
  app.route("/", routes);
  return { app, lines, handled };
}

async function expectProblem(response: Response, status: number) {
  expect(response.status).toBe(status);
  expect(response.headers.get("content-type")).toBe("application/problem+json");
  const body = (await response.json()) as Record<string, unknown>;
  expect([body.type, body.status, typeof body.title, typeof body.detail]).toEqual(["about:blank", status, "string", "string"]);
  return body;
}

const post = (body: BodyInit, headers: Record<string, string> = { "content-type": "application/json" }) => ({ method: "POST", body, headers });
const jsonOfSize = (bytes: number) => JSON.stringify({ text: "x".repeat(bytes - '{"text":""}'.length) });

describe("request bodies on /api are limited", () => {
  test("a body of exactly the limit is accepted", async () => {
    const { app, handled } = build();
    expect((await app.request("/api/samples", post(jsonOfSize(maxApiBodyBytes)))).status).toBe(201);
    expect(handled).toHaveLength(1);
  });

  test("one byte more is 413, with Content-Length, and never reaches the handler", async () => {
    const { app, handled } = build();
    const body = await expectProblem(await app.request("/api/samples", post(jsonOfSize(maxApiBodyBytes + 1))), 413);
    expect(body.title).toBe("Content Too Large");
    expect(handled).toEqual([]);
  });

  test("a streamed body (no Content-Length) of 2 MB is 413 as soon as it passes the limit", async () => {
    const { app, handled } = build();
    let pulled = 0;
    const chunk = new TextEncoder().encode("x".repeat(16 * 1024));
    const stream = new ReadableStream<Uint8Array>({
      start: (controller) => controller.enqueue(new TextEncoder().encode('{"text":"')),
      pull: (controller) => {
        pulled += chunk.length;
        if (pulled > 2 * 1024 * 1024) controller.close();
        else controller.enqueue(chunk);
      },
    });
    await expectProblem(await app.request("/api/samples", { ...post(stream), duplex: "half" } as RequestInit), 413);
    expect(handled).toEqual([]);
    expect(pulled).toBeLessThan(maxApiBodyBytes + 4 * chunk.length);
  });
});

describe("content types", () => {
  test.each(["text/plain", "application/x-www-form-urlencoded", "application/xml"])("a JSON route answers %s with 415 saying what it takes", async (type) => {
    const body = await expectProblem(await build().app.request("/api/samples", post('{"text":"a"}', { "content-type": type })), 415);
    expect(String(body.detail)).toContain("application/json");
  });
});

describe("the database being unavailable is 503 with Retry-After, logged as a warning", () => {
  test.each([
    ["a postgres.js connection error", Object.assign(new Error("write CONNECTION_CLOSED 127.0.0.1:5432"), { code: "CONNECTION_CLOSED" })],
    ["a refused connection", Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:5432"), { code: "ECONNREFUSED" })],
    ["the pool's acquire timeout", new DatabaseUnavailableError("no database connection within 5000 ms", "ACQUIRE_TIMEOUT")],
  ])("%s", async (_name, error) => {
    const { app, lines } = build(error);
    const response = await app.request("/api/failing");
    const body = await expectProblem(response, 503);
    expect(body.title).toBe("Service Unavailable");
    expect(JSON.stringify(body)).not.toContain("5432");
    expect(response.headers.get("retry-after")).toBe(String(databaseRetryAfterSeconds));
    expect(lines.map((line) => line.level)).toEqual(["warn"]);
  });

  test("any other error stays a 500", async () => {
    const { app } = build(Object.assign(new Error("duplicate key"), { code: "23505" }));
    await expectProblem(await app.request("/api/failing"), 500);
  });
});
