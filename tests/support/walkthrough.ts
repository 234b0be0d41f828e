import { randomUUID } from "node:crypto";

/** A client of the system over HTTP and WebSocket, as the seed's walkthrough uses it. */
export interface OrderUpdate {
  id: string;
  userId: string;
  amount: number;
  status: string;
  failureReason?: string;
}

export const json = (body: unknown, headers: Record<string, string> = {}) => ({
  method: "POST",
  body: JSON.stringify(body),
  headers: { "content-type": "application/json", ...headers },
});

/** Creates an account with `deposit` on the payments API; returns the user id. */
export async function openAccount(paymentsUrl: string, deposit: number, headers: Record<string, string> = {}): Promise<string> {
  const userId = randomUUID();
  const created = await fetch(`${paymentsUrl}/api/accounts`, json({ userId }, headers));
  if (created.status !== 201) throw new Error(`create account: ${created.status} ${await created.text()}`);
  const deposited = await fetch(`${paymentsUrl}/api/accounts/${userId}/deposit`, json({ amount: deposit }, headers));
  if (deposited.status !== 200) throw new Error(`deposit: ${deposited.status} ${await deposited.text()}`);
  return userId;
}

/** Opens the user's WebSocket and collects every order.updated it receives. */
export async function watchOrders(ordersUrl: string, userId: string, query = ""): Promise<{ updates: OrderUpdate[]; close(): void }> {
  const updates: OrderUpdate[] = [];
  const socket = new WebSocket(`${ordersUrl.replace(/^http/, "ws")}/ws?userId=${userId}${query}`);
  socket.onmessage = (event) => {
    const message = JSON.parse(String(event.data)) as { type: string; order: OrderUpdate };
    if (message.type === "order.updated") updates.push(message.order);
  };
  await new Promise<void>((resolve, reject) => {
    socket.onopen = () => resolve();
    socket.onerror = () => reject(new Error("the WebSocket did not open"));
  });
  return { updates, close: () => socket.close() };
}

export async function placeOrder(ordersUrl: string, userId: string, amount: number, headers: Record<string, string> = {}): Promise<OrderUpdate> {
  const response = await fetch(`${ordersUrl}/api/orders`, json({ userId, amount, description: "walkthrough" }, headers));
  if (response.status !== 201) throw new Error(`place order: ${response.status} ${await response.text()}`);
  return (await response.json()) as OrderUpdate;
}
