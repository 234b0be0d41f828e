import { afterAll, describe, expect, test } from "bun:test";
import { placeOrder, TerminalTracker } from "./client";
import { isRefusal } from "./stats";

/** Answers POST /<kind>/api/orders as its first path segment says. */
const server = Bun.serve({
  hostname: "127.0.0.1",
  port: 0,
  fetch(request, self) {
    const kind = new URL(request.url).pathname.split("/")[1];
    const problem = { "content-type": "application/problem+json" };
    switch (kind) {
      case "accept":
        return Response.json({ id: "0b3c6f5e-1f8e-4c1e-9d7b-2f0a1c3e5d7f", status: "Created" }, { status: 201 });
      case "shed":
        return new Response(JSON.stringify({ status: 503, title: "Service Unavailable" }), { status: 503, headers: { ...problem, "retry-after": "2" } });
      case "unavailable":
        return new Response(JSON.stringify({ status: 503, title: "Service Unavailable" }), { status: 503, headers: problem });
      default:
        self.stop(true); // drops every connection, this one included
        return new Promise<Response>(() => {});
    }
  },
});
afterAll(() => server.stop(true));

const order = { userId: "u", amount: 10, description: "test" };
const place = (kind: string) => placeOrder(`http://127.0.0.1:${server.port}/${kind}`, order, new TerminalTracker());

describe("placeOrder: what the bench records of each answer", () => {
  test("201: accepted, with the order's id", async () => {
    const record = await place("accept");
    expect(record).toMatchObject({ httpStatus: 201, orderId: "0b3c6f5e-1f8e-4c1e-9d7b-2f0a1c3e5d7f" });
    expect(isRefusal(record)).toBe(false);
  });

  test("503 with Retry-After: a refusal, the header kept", async () => {
    const record = await place("shed");
    expect(record).toMatchObject({ httpStatus: 503, error: "HTTP 503", retryAfter: "2" });
    expect(isRefusal(record)).toBe(true);
  });

  test("503 without Retry-After: an error", async () => {
    const record = await place("unavailable");
    expect(record).toMatchObject({ httpStatus: 503, error: "HTTP 503" });
    expect(record).not.toHaveProperty("retryAfter");
    expect(isRefusal(record)).toBe(false);
  });

  // Last: it stops the server.
  test("a dropped connection: a network error", async () => {
    const record = await place("drop");
    expect(record.httpStatus).toBe(0);
    expect(record.error).toStartWith("network: ");
    expect(isRefusal(record)).toBe(false);
  });
});
