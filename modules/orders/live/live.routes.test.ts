import { afterEach, describe, expect, test } from "bun:test";
import { randomUUID } from "node:crypto";
import { connect, type Socket } from "node:net";
import { OpenAPIHono } from "@hono/zod-openapi";
import { sign } from "hono/jwt";
import { MemoryBroker } from "../../../shared/bus/memory/memory-broker";
import { MemoryBus } from "../../../shared/bus/memory/memory-bus";
import type { AuthConfig } from "../../../shared/config";
import type { WebSocketLimits } from "../orders.settings";
import { createAuthPolicy } from "../../../shared/http/auth";
import { createApp } from "../../../shared/http/create-app";
import { maxClientFrameBytes, webSocketHandler } from "../../../shared/http/websockets";
import { createLogger } from "../../../shared/logger";
import { eventually } from "../../../shared/testing/eventually";
import { tracingOff } from "../../../shared/tracing/tracing";
import type { OrderView } from "../db/order-view.sql";
import { mountLiveRoutes } from "./live.routes";
import { liveCloseCodes, OrderUpdatesHub } from "./order-updates-hub";
import { publishOrderUpdates } from "./order-updates";

/**
 * GET /ws on a real Bun server: the app shell every process serves, the live routes, the hub on an
 * in-memory bus, and Bun's WebSocket handler with the limits `startServer` gives it.
 */
const logger = createLogger({ level: "error", write: () => {} });
const secret = "a-websocket-test-secret-of-32-characters";
const stops: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const stop of stops.splice(0).reverse()) await stop();
});

async function startLive(options: { auth?: AuthConfig; limits?: WebSocketLimits; corsOrigins?: string[] } = {}) {
  const bus = new MemoryBus({ broker: new MemoryBroker() });
  const hub = new OrderUpdatesHub(bus, logger, tracingOff, options.limits);
  await hub.start();
  const app = createApp({ logger, corsOrigins: options.corsOrigins });
  const routes = new OpenAPIHono();
  mountLiveRoutes(routes, hub, createAuthPolicy(options.auth ?? { kind: "none" }));
  app.route("/", routes);
  const server = Bun.serve({ port: 0, fetch: app.fetch, websocket: webSocketHandler });
  stops.push(async () => {
    await server.stop(true);
    await hub.stop();
    await bus.close();
  });
  const push = (views: OrderView[]) => publishOrderUpdates(bus, logger, views);
  return { http: `http://127.0.0.1:${server.port}`, ws: `ws://127.0.0.1:${server.port}`, hub, push };
}

const view = (userId: string, description = "an order"): OrderView => {
  const at = new Date().toISOString();
  return { id: randomUUID(), userId, amount: 1, description, status: "Created", createdAt: at, updatedAt: at };
};

/** A client socket and what happened to it: the updates it got, and how it closed. */
function watch(url: string, options: { protocols?: string[]; headers?: Record<string, string> } = {}) {
  const socket = new WebSocket(url, options as never);
  const seen = { opened: false, updates: [] as OrderView[], closed: undefined as { code: number; reason: string } | undefined };
  socket.onopen = () => (seen.opened = true);
  socket.onmessage = (event) => void seen.updates.push((JSON.parse(String(event.data)) as { order: OrderView }).order);
  socket.onclose = (event) => (seen.closed = { code: event.code, reason: event.reason });
  stops.push(async () => socket.close());
  return { socket, seen };
}

const opened = (client: ReturnType<typeof watch>) => eventually(() => client.seen.opened, 5_000, "the socket to open");
const closedWith = async (client: ReturnType<typeof watch>, code: number, timeoutMs = 5_000) => {
  await eventually(() => client.seen.closed !== undefined, timeoutMs, `the socket to be closed with ${code}`);
  expect(client.seen.closed!.code).toBe(code);
  return client.seen.closed!.reason;
};

describe("AUTH=jwt: the token", () => {
  const seconds = () => Math.floor(Date.now() / 1_000);
  const tokenFor = (userId: string, exp: number) => sign({ sub: userId, exp, iat: seconds() }, secret, "HS256");

  test("comes in Sec-WebSocket-Protocol (bearer, <JWT>), not in the URL; the answer is the bearer protocol", async () => {
    const live = await startLive({ auth: { kind: "jwt", key: { secret }, maxTtlMs: 3_600_000, clockSkewMs: 0 } });
    const user = randomUUID();
    const client = watch(`${live.ws}/ws?userId=${user}`, { protocols: ["bearer", await tokenFor(user, seconds() + 600)] });
    await opened(client);
    expect(client.socket.protocol).toBe("bearer");
    const order = view(user);
    await live.push([order]);
    await eventually(() => client.seen.updates.length === 1, 5_000, "the update pushed");
    expect(client.seen.updates).toEqual([order]);

    const other = watch(`${live.ws}/ws?userId=${randomUUID()}`, { protocols: ["bearer", await tokenFor(user, seconds() + 600)] });
    await eventually(() => other.seen.closed !== undefined, 5_000, "another user's socket refused");
    expect(other.seen.opened).toBe(false);
  });

  test("closes the socket when it expires (4401, saying why)", async () => {
    const live = await startLive({ auth: { kind: "jwt", key: { secret }, maxTtlMs: 3_600_000, clockSkewMs: 0 } });
    const user = randomUUID();
    const exp = seconds() + 3;
    const client = watch(`${live.ws}/ws?userId=${user}&access_token=${await tokenFor(user, exp)}`);
    await opened(client);
    const reason = await closedWith(client, liveCloseCodes.tokenExpired, 10_000);
    expect(reason).toBe("the access token expired: reconnect with a new one");
    expect(Date.now()).toBeGreaterThanOrEqual(exp * 1_000);
    await eventually(() => live.hub.connections === 0, 5_000, "the hub to let go of the socket");
  });
});

describe("caps, frames and origins", () => {
  test("a user's socket over the per-user cap, and any socket over the total, is closed at once saying why", async () => {
    const live = await startLive({ limits: { perUser: 2, total: 3 } });
    const [alice, bob, carol] = [randomUUID(), randomUUID(), randomUUID()];
    const aliceSockets = [watch(`${live.ws}/ws?userId=${alice}`), watch(`${live.ws}/ws?userId=${alice}`)];
    for (const client of aliceSockets) await opened(client);
    const third = watch(`${live.ws}/ws?userId=${alice}`);
    expect(await closedWith(third, liveCloseCodes.tooManyForUser)).toBe("at most 2 live connections per user: close another tab or window");
    await opened(watch(`${live.ws}/ws?userId=${bob}`));
    const overTotal = watch(`${live.ws}/ws?userId=${carol}`);
    expect(await closedWith(overTotal, liveCloseCodes.serverFull)).toBe("this server has its maximum of 3 live connections: try again later");
    expect(live.hub.connections).toBe(3);

    // A place freed is a place taken again; the sockets that stayed still get their updates.
    aliceSockets[0]!.socket.close();
    await eventually(() => live.hub.connections === 2, 5_000, "the closed socket to be let go");
    await opened(watch(`${live.ws}/ws?userId=${carol}`));
    await live.push([view(alice)]);
    await eventually(() => aliceSockets[1]!.seen.updates.length === 1, 5_000, "the update pushed");
  });

  test(`a client frame over ${maxClientFrameBytes} bytes closes the socket (1009); a small one does not`, async () => {
    const live = await startLive();
    const user = randomUUID();
    const client = watch(`${live.ws}/ws?userId=${user}`);
    await opened(client);
    client.socket.send("x".repeat(maxClientFrameBytes));
    await live.push([view(user)]);
    await eventually(() => client.seen.updates.length === 1, 5_000, "an update after the small frame");
    expect(client.seen.closed).toBeUndefined();
    client.socket.send("x".repeat(maxClientFrameBytes + 1));
    await closedWith(client, 1009);
  });

  test("an upgrade from another origin is 403 problem+json; the same origin, CORS_ORIGINS and no Origin open", async () => {
    const page = "https://shop.example";
    const live = await startLive({ corsOrigins: [page] });
    const user = randomUUID();
    const refused = await fetch(`${live.http}/ws?userId=${user}`, {
      headers: { origin: "https://evil.example", upgrade: "websocket", connection: "Upgrade", "sec-websocket-key": "dGhlIHNhbXBsZSBub25jZQ==", "sec-websocket-version": "13" },
    });
    expect(refused.status).toBe(403);
    expect(refused.headers.get("content-type")).toBe("application/problem+json");
    expect(((await refused.json()) as { detail: string }).detail).toContain("https://evil.example");
    const evil = watch(`${live.ws}/ws?userId=${user}`, { headers: { origin: "https://evil.example" } });
    await eventually(() => evil.seen.closed !== undefined, 5_000, "the foreign socket refused");
    expect(evil.seen.opened).toBe(false);

    for (const headers of [{ origin: live.http }, { origin: page }, {}] as Record<string, string>[]) await opened(watch(`${live.ws}/ws?userId=${user}`, { headers }));
    expect(live.hub.connections).toBe(3);
  });
});

/** A WebSocket client that completes the handshake and then never reads again (its kernel buffers fill up). */
async function stalledClient(http: string, userId: string): Promise<Socket> {
  const { hostname, port } = new URL(http);
  const socket = connect(Number(port), hostname);
  stops.push(async () => void socket.destroy());
  await new Promise<void>((resolve, reject) => socket.once("connect", resolve).once("error", reject));
  socket.write(
    `GET /ws?userId=${userId} HTTP/1.1\r\nHost: ${hostname}:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
      "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
  );
  const head = await new Promise<string>((resolve) => socket.once("data", (chunk) => resolve(String(chunk))));
  expect(head).toStartWith("HTTP/1.1 101");
  socket.pause();
  return socket;
}

test("a client that stops reading is closed once its updates pile up, instead of being buffered without bound", async () => {
  const live = await startLive();
  const user = randomUUID();
  await stalledClient(live.http, user);
  const reader = watch(`${live.ws}/ws?userId=${user}`);
  await opened(reader);
  await eventually(() => live.hub.connections === 2, 5_000, "both sockets registered");

  // About 0.5 MB a round, until the stalled one is let go (at most 64 MB: far more than kernel buffers and Bun's limit hold).
  const round = () => Array.from({ length: 200 }, () => view(user, "d".repeat(2_000)));
  let pushed = 0;
  while (live.hub.connections === 2 && pushed < 128 * 200) {
    const views = round();
    await live.push(views);
    pushed += views.length;
    await eventually(() => reader.seen.updates.length === pushed || live.hub.connections < 2, 10_000, "the reader to keep up");
  }
  expect(live.hub.connections).toBe(1);
  // The client that reads was never held up or closed.
  await eventually(() => reader.seen.updates.length === pushed, 10_000, "every update to reach the reader");
  expect(reader.seen.closed).toBeUndefined();
}, 60_000);
