import { afterEach, expect, test } from "bun:test";
import { randomUUID } from "node:crypto";
import type { Delivery } from "../../../shared/bus/bus";
import { maxEnvelopeBytes } from "../../../shared/contracts/envelope";
import { MemoryBroker } from "../../../shared/bus/memory/memory-broker";
import { MemoryBus } from "../../../shared/bus/memory/memory-bus";
import { createLogger } from "../../../shared/logger";
import { eventually } from "../../../shared/testing/eventually";
import type { OrderView } from "../db/order-view.sql";
import type { OrderStatus } from "../domain/order-status";
import { createOrderBody } from "../http/orders.schemas";
import { liveCloseCodes, OrderUpdatesHub } from "./order-updates-hub";
import { maxChangesPerMessage, orderUpdatesTopic, publishOrderUpdates } from "./order-updates";

const logger = createLogger({ level: "error", write: () => {} });
const buses: MemoryBus[] = [];
afterEach(async () => {
  await Promise.all(buses.splice(0).map((bus) => bus.close()));
});

const view = (userId: string, status: OrderStatus, description = "an order"): OrderView => {
  const at = new Date().toISOString();
  return { id: randomUUID(), userId, amount: 12.5, description, status, createdAt: at, updatedAt: at };
};

/** A socket that records what it is sent, decoded, and how it was closed; it takes `room` messages, then drops them. */
function recordingSocket(room = Infinity) {
  const received: OrderView[] = [];
  const closes: [code: number, reason: string][] = [];
  return {
    received,
    closes,
    send: (data: string) => received.length < room && received.push((JSON.parse(data) as { order: OrderView }).order) > 0,
    close: (code: number, reason: string) => void closes.push([code, reason]),
  };
}

test("a round's changes reach each user's sockets in order, one bus message per user (chunked beyond the limit)", async () => {
  const bus = new MemoryBus({ broker: new MemoryBroker() });
  buses.push(bus);
  const onTopic: Delivery[] = [];
  await bus.subscribeBroadcast(orderUpdatesTopic, async (message) => void onTopic.push(message));
  const hub = new OrderUpdatesHub(bus, logger);
  await hub.start();
  const [alice, bob, carol] = [randomUUID(), randomUUID(), randomUUID()];
  const [aliceSocket, bobSocket] = [recordingSocket(), recordingSocket()];
  hub.add(alice, aliceSocket);
  hub.add(bob, bobSocket);

  // As the relay pushes a round: each order as Created, then as PaymentPending; users interleaved.
  const a1 = view(alice, "Created"), b1 = view(bob, "Created"), a2 = view(alice, "Created");
  const pending = (order: OrderView): OrderView => ({ ...order, status: "PaymentPending" });
  const changes = [a1, pending(a1), b1, pending(b1), a2, pending(a2), view(carol, "Created")];
  // Bob also has more changes than one message carries.
  const many = Array.from({ length: maxChangesPerMessage * 2 + 5 }, (_, i) => view(bob, "Created", `order ${i}`));
  await publishOrderUpdates(bus, logger, [...changes, ...many]);

  await eventually(() => aliceSocket.received.length === 4 && bobSocket.received.length === 2 + many.length, 5_000, "every change pushed");
  expect(aliceSocket.received).toEqual([a1, pending(a1), a2, pending(a2)]);
  expect(bobSocket.received).toEqual([b1, pending(b1), ...many]);
  // Alice 1, Bob 3 (2 + 45 changes, 20 per message), Carol 1: five messages for 52 changes.
  expect(onTopic.map((message) => message.key).sort()).toEqual([alice, bob, bob, bob, carol].sort());
  await hub.stop();
});

test("twelve orders placed at once with the longest descriptions the API accepts: every change is pushed, every message fits", async () => {
  const bus = new MemoryBus({ broker: new MemoryBroker() });
  buses.push(bus);
  const onTopic: Delivery[] = [];
  await bus.subscribeBroadcast(orderUpdatesTopic, async (message) => void onTopic.push(message));
  const hub = new OrderUpdatesHub(bus, logger);
  await hub.start();
  const user = randomUUID();
  const socket = recordingSocket();
  hub.add(user, socket);

  // What takes the most room once encoded: control characters are six bytes each in JSON ("\u0001").
  const longest = "\u0001".repeat(1_000);
  expect(createOrderBody.safeParse({ userId: user, amount: 1, description: longest }).success).toBe(true);
  const created = Array.from({ length: 12 }, () => view(user, "Created", longest));
  const changes = [...created, ...created.map((order): OrderView => ({ ...order, status: "PaymentPending" }))];
  await publishOrderUpdates(bus, logger, changes);

  await eventually(() => socket.received.length === changes.length, 5_000, "every change pushed");
  expect(socket.received).toEqual(changes);
  for (const message of onTopic) expect(Buffer.byteLength(message.value)).toBeLessThanOrEqual(maxEnvelopeBytes);
  await hub.stop();
});

test("a socket that cannot take an update is closed (Try Again Later) and sent nothing more; the others are not held up", async () => {
  const bus = new MemoryBus({ broker: new MemoryBroker() });
  buses.push(bus);
  const hub = new OrderUpdatesHub(bus, logger);
  await hub.start();
  const user = randomUUID();
  const [slow, quick] = [recordingSocket(1), recordingSocket()];
  hub.add(user, slow);
  hub.add(user, quick);

  const first = [view(user, "Created"), view(user, "Created")];
  await publishOrderUpdates(bus, logger, first);
  await eventually(() => quick.received.length === 2, 5_000, "the first round pushed");
  expect(slow.received).toEqual([first[0]!]);
  expect(slow.closes).toEqual([[liveCloseCodes.tooSlow, "too many updates waiting to be sent: reconnect to catch up"]]);
  expect(hub.connections).toBe(1);

  const second = view(user, "Created");
  await publishOrderUpdates(bus, logger, [second]);
  await eventually(() => quick.received.length === 3, 5_000, "the second round pushed");
  expect(slow.received).toEqual([first[0]!]);
  await hub.stop();
});
