import { afterAll, describe, expect, test } from "bun:test";
import { probeLiveness, summarizeLiveness, type LiveProbe } from "./liveness";

describe("summarizeLiveness", () => {
  test("p99 and max over every probe, a timeout counted as the timeout's value; failures by kind", () => {
    const probes: LiveProbe[] = [
      ...Array.from({ length: 97 }, (_, index): LiveProbe => ({ ms: index + 1, outcome: "ok" })),
      { ms: 3_000, outcome: "timeout" },
      { ms: 3_000, outcome: "timeout" },
      { ms: 4, outcome: "failed", detail: "HTTP 503" },
    ];
    const summary = summarizeLiveness(probes);
    expect(summary).toMatchObject({ probes: 100, timeouts: 2, failed: { "HTTP 503": 1 } });
    expect(summary.answerMs).toMatchObject({ p99: 3_000, max: 3_000, p50: 49 });
  });

  test("no probes: no distribution", () => {
    expect(summarizeLiveness([])).toEqual({ probes: 0, timeouts: 0, failed: {}, answerMs: undefined });
  });
});

describe("probeLiveness against a real server", () => {
  const { promise: never } = Promise.withResolvers<Response>();
  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    fetch: (request) => {
      const path = new URL(request.url).pathname;
      if (path === "/hang/health/live") return never;
      return path === "/down/health/live" ? new Response("no", { status: 503 }) : new Response("ok");
    },
  });
  const base = `http://127.0.0.1:${server.port}`;
  afterAll(() => server.stop(true));

  // A long interval: only the probe sent at the start goes out before `stop`.
  const once = async (path: string) => (await probeLiveness(`${base}${path}`, { intervalMs: 60_000, timeoutMs: 200 }).stop())[0];

  test("a 200 is ok", async () => {
    expect(await once("")).toMatchObject({ outcome: "ok" });
  });

  test("a probe never answered is a timeout that counts as the timeout's value", async () => {
    expect(await once("/hang")).toEqual({ ms: 200, outcome: "timeout" });
  });

  test("another status is a failure", async () => {
    expect(await once("/down")).toMatchObject({ outcome: "failed", detail: "HTTP 503" });
  });
});
