import { afterEach, describe, expect, test } from "bun:test";
import { createApp } from "../http/create-app";
import { createLogger } from "../logger";
import { loadConfig } from "../config";
import { startTracing } from "./start-tracing";
import type { Tracing } from "./tracing";

/** A collector that keeps every POST: path, content type and body. */
function collector() {
  const received: { path: string; contentType: string; body: Uint8Array }[] = [];
  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    async fetch(request) {
      received.push({ path: new URL(request.url).pathname, contentType: request.headers.get("content-type") ?? "", body: new Uint8Array(await request.arrayBuffer()) });
      return new Response("{}", { headers: { "content-type": request.headers.get("content-type") ?? "" } });
    },
  });
  return { received, url: `http://127.0.0.1:${server.port}`, stop: () => server.stop(true) };
}

let running: { tracing: Tracing; stop(): void } | undefined;
afterEach(async () => {
  await running?.tracing.shutdown();
  running?.stop();
  running = undefined;
});

function start(env: Record<string, string>) {
  const receiver = collector();
  const settings = loadConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, ...env }).tracing!;
  const tracing = startTracing(settings, { logger: createLogger({ level: "error" }), busSystem: "memory", messageIdOf: () => undefined });
  running = { tracing, stop: receiver.stop };
  return { tracing, received: receiver.received };
}

interface JsonSpan {
  traceId: string;
  parentSpanId?: string;
  name: string;
  kind: number;
  attributes: { key: string; value: Record<string, unknown> }[];
}
const spansOf = (received: { contentType: string; body: Uint8Array }[]): JsonSpan[] =>
  received
    .filter((request) => request.contentType.includes("json"))
    .flatMap((request) => JSON.parse(new TextDecoder().decode(request.body)).resourceSpans)
    .flatMap((resource: { scopeSpans: { spans: JsonSpan[] }[] }) => resource.scopeSpans.flatMap((scope) => scope.spans));

describe("startTracing", () => {
  test("exports over http/protobuf by default, to <endpoint>/v1/traces", async () => {
    const { tracing, received } = start({});
    const app = createApp({ logger: createLogger({ level: "error" }), serverSpans: tracing.httpMiddleware() });
    app.get("/api/things", (c) => c.json({}));
    const traceId = "4bf92f3577b34da6a3ce929d0e0e4736";
    await app.request("/api/things", { headers: { traceparent: `00-${traceId}-00f067aa0ba902b7-01` } });
    await tracing.shutdown(); // flushes
    expect(received.map(({ path, contentType }) => ({ path, contentType }))).toEqual([{ path: "/v1/traces", contentType: "application/x-protobuf" }]);
    // The trace id travels as its 16 bytes in the protobuf body.
    expect(Buffer.from(received[0]!.body).includes(Buffer.from(traceId, "hex"))).toBe(true);
  });

  test("a server span per request, a child of the caller's; the caller's baggage not taken; probes untraced", async () => {
    const { tracing, received } = start({ OTEL_EXPORTER_OTLP_PROTOCOL: "http/json" });
    const app = createApp({ logger: createLogger({ write: () => {} }), serverSpans: tracing.httpMiddleware() });
    app.get("/api/things/:id", (c) => {
      tracing.annotate({ "gozon.order_id": c.req.param("id") });
      return c.json({});
    });
    app.get("/api/broken", () => {
      throw new Error("boom");
    });
    const traceId = "4bf92f3577b34da6a3ce929d0e0e4736";
    const caller = "00f067aa0ba902b7";
    const headers = { traceparent: `00-${traceId}-${caller}-01`, baggage: "gozon.order_id=forged", "user-agent": "test-agent" };
    expect((await app.request("http://gozon.test/api/things/t-1", { headers })).status).toBe(200);
    expect((await app.request("http://gozon.test/api/broken", { headers: { baggage: "gozon.order_id=forged" } })).status).toBe(500);
    expect((await app.request("http://gozon.test/health/live")).status).toBe(200);
    await tracing.shutdown();

    const spans = spansOf(received);
    expect(spans.map((span) => span.name).sort()).toEqual(["GET /api/broken", "GET /api/things/:id"]);
    const things = spans.find((span) => span.name === "GET /api/things/:id")!;
    expect(things.kind).toBe(2);
    expect(things.traceId).toBe(traceId);
    expect(things.parentSpanId).toBe(caller);
    const attributes = Object.fromEntries(things.attributes.map(({ key, value }) => [key, Object.values(value)[0]]));
    expect(attributes).toMatchObject({
      "http.request.method": "GET",
      "http.route": "/api/things/:id",
      "url.path": "/api/things/t-1",
      "url.scheme": "http",
      "server.address": "gozon.test",
      "user_agent.original": "test-agent",
      "gozon.order_id": "t-1",
    });
    expect(Number(attributes["http.response.status_code"])).toBe(200);
    const broken = spans.find((span) => span.name === "GET /api/broken") as JsonSpan & { status: { code: number }; events: { name: string }[] };
    expect(broken.status.code).toBe(2);
    expect(broken.events.map((event) => event.name)).toEqual(["exception"]);
    expect(broken.attributes.map(({ key }) => key)).not.toContain("gozon.order_id");
  });
});
