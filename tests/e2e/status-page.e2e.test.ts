import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Browser, Page } from "playwright-core";
import { allModules } from "../support/all-modules";
import { loadConfig } from "../../shared/config";
import { createLogger } from "../../shared/logger";
import { startServer, type RunningServer } from "../../shared/server";
import { createTestDatabase } from "../../shared/testing/postgres";
import { launchChromium } from "../support/chromium";

/**
 * The live status page driven in a real headless browser (Debian's chromium through playwright-core)
 * against the whole system in this process: mono, memory bus, a fresh PostgreSQL database.
 * Screenshots go to `<tmp>/gozon-status-page/` (overwritten on each run) for a human to look at.
 */

const settleTimeoutMs = 15_000;
const screenshotDir = join(tmpdir(), "gozon-status-page");

const cleanups: (() => Promise<unknown>)[] = [];
let browser: Browser;
let baseUrl: string;
const userId = crypto.randomUUID();

beforeAll(async () => {
  const database = await createTestDatabase();
  cleanups.push(() => database.drop());
  const dataDir = await mkdtemp(join(tmpdir(), "gozon-status-page-data-"));
  cleanups.push(() => rm(dataDir, { recursive: true, force: true }));
  const config = loadConfig({ MODE: "mono", PORT: "0", DATA_DIR: dataDir, DATABASE_URL: database.url, BUS: "memory", LOG_LEVEL: "error" }, allModules);
  const server: RunningServer = await startServer(
    config,
    allModules,
    { logger: createLogger({ level: "error" }) },
  );
  cleanups.push(() => server.stop());
  baseUrl = `http://127.0.0.1:${server.port}`;

  await call("POST", "/api/accounts", { userId }, 201);
  await call("POST", `/api/accounts/${userId}/deposit`, { amount: 100 }, 200);

  browser = await launchChromium();
  cleanups.push(() => browser.close());
  await mkdir(screenshotDir, { recursive: true });
});

afterAll(async () => {
  // Browser first (its WebSocket would otherwise hold the server's grace period), then server, then data.
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch((error: unknown) => console.error(error));
});

async function call(method: string, path: string, body: unknown, expectedStatus: number): Promise<unknown> {
  const response = await fetch(`${baseUrl}${path}`, {
    method,
    headers: { "content-type": "application/json" },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await response.text();
  if (response.status !== expectedStatus) throw new Error(`${method} ${path} → ${response.status}, expected ${expectedStatus}: ${text}`);
  return JSON.parse(text);
}

/** A page whose uncaught script errors are collected, to be asserted empty at the end. */
async function openPage(options: Parameters<Browser["newContext"]>[0] = {}): Promise<{ page: Page; errors: string[] }> {
  const context = await browser.newContext(options);
  const page = await context.newPage();
  page.setDefaultTimeout(settleTimeoutMs);
  const errors: string[] = [];
  page.on("pageerror", (error) => errors.push(error.message));
  return { page, errors };
}

const statusOf = (orderId: string, status: string) => `tr[data-order-id="${orderId}"] [data-status="${status}"]`;

/** Fills the order form, submits it, and returns the order the server answered with. */
async function placeOrder(page: Page, amount: string, description: string): Promise<{ id: string; status: string }> {
  await page.fill("#amount", amount);
  await page.fill("#description", description);
  const [response] = await Promise.all([
    page.waitForResponse((candidate) => candidate.request().method() === "POST" && new URL(candidate.url()).pathname === "/api/orders"),
    page.click("#place"),
  ]);
  expect(response.status()).toBe(201);
  expect(response.request().headers()["idempotency-key"]).toMatch(/^[0-9a-f-]{36}$/);
  return (await response.json()) as { id: string; status: string };
}

describe("the status page in a headless browser", () => {
  test("shows orders settle live, then lists them again after a reload", async () => {
    const { page, errors } = await openPage({ viewport: { width: 1100, height: 760 } });
    const pushed: string[] = [];
    page.on("websocket", (socket) => socket.on("framereceived", ({ payload }) => pushed.push(String(payload))));

    await page.goto(`${baseUrl}/`);
    await page.fill("#user-id", userId);
    await page.click("#user-form button[type=submit]");
    await page.waitForSelector("#connection.live");
    expect(await page.isEnabled("#place")).toBe(true);
    // A marker on window survives only if the page is never reloaded.
    await page.evaluate(() => Object.assign(window, { notReloaded: true }));

    const paid = await placeOrder(page, "30", "Coffee beans");
    await page.waitForSelector(statusOf(paid.id, "PaymentCompleted"));
    expect(await page.textContent("#message")).toContain(paid.id);

    const refused = await placeOrder(page, "500", "A bicycle");
    await page.waitForSelector(statusOf(refused.id, "PaymentFailed"));
    expect(await page.textContent(`tr[data-order-id="${refused.id}"] .reason`)).toBe("insufficient funds");

    expect(await page.evaluate(() => "notReloaded" in window)).toBe(true);
    // The final statuses came over the WebSocket, not from a fresh list.
    const updates = pushed.map((frame) => {
      const { type, order } = JSON.parse(frame) as { type: string; order: { id: string; status: string } };
      return `${type} ${order.id} ${order.status}`;
    });
    expect(updates).toContain(`order.updated ${paid.id} PaymentCompleted`);
    expect(updates).toContain(`order.updated ${refused.id} PaymentFailed`);
    await page.screenshot({ path: join(screenshotDir, "desktop-live.png"), fullPage: true });

    const [list] = await Promise.all([
      page.waitForResponse((candidate) => new URL(candidate.url()).pathname === "/api/orders" && candidate.request().method() === "GET"),
      page.goto(`${baseUrl}/?userId=${userId}`),
    ]);
    expect(list.status()).toBe(200);
    await page.waitForSelector(statusOf(paid.id, "PaymentCompleted"));
    await page.waitForSelector(statusOf(refused.id, "PaymentFailed"));
    expect(await page.evaluate(() => "notReloaded" in window)).toBe(false);
    expect(await page.inputValue("#user-id")).toBe(userId);
    // Newest first.
    const listed = await page.$$eval("#orders tr", (rows) => rows.map((row) => (row as HTMLElement).dataset.orderId));
    expect(listed).toEqual([refused.id, paid.id]);
    expect(await page.textContent(`tr[data-order-id="${refused.id}"] .reason`)).toBe("insufficient funds");
    expect(await page.isHidden("#empty")).toBe(true);
    await page.screenshot({ path: join(screenshotDir, "desktop-reloaded.png"), fullPage: true });

    expect(errors).toEqual([]);
    await page.context().close();
  });

  test("Cancel on a paid order: click, the row reaches Refunded without a reload, the money is back", async () => {
    const { page, errors } = await openPage({ viewport: { width: 1100, height: 760 } });
    const pushed: string[] = [];
    page.on("websocket", (socket) => socket.on("framereceived", ({ payload }) => pushed.push(String(payload))));
    await page.goto(`${baseUrl}/?userId=${userId}`);
    await page.waitForSelector("#connection.live");
    await page.evaluate(() => Object.assign(window, { notReloaded: true }));
    const balanceBefore = ((await call("GET", `/api/accounts/${userId}`, undefined, 200)) as { balance: number }).balance;

    const paid = await placeOrder(page, "20", "A lamp");
    await page.waitForSelector(statusOf(paid.id, "PaymentCompleted"));
    expect(((await call("GET", `/api/accounts/${userId}`, undefined, 200)) as { balance: number }).balance).toBe(balanceBefore - 20);
    const button = page.locator(`tr[data-order-id="${paid.id}"] button.cancel`);
    expect(await button.isVisible()).toBe(true);
    // A failed order has nothing to cancel: no button.
    const refused = await placeOrder(page, "5000", "A boat");
    await page.waitForSelector(statusOf(refused.id, "PaymentFailed"));
    expect(await page.locator(`tr[data-order-id="${refused.id}"] button.cancel`).count()).toBe(0);

    const [response] = await Promise.all([
      page.waitForResponse((candidate) => candidate.request().method() === "POST" && new URL(candidate.url()).pathname === `/api/orders/${paid.id}/cancel`),
      button.click(),
    ]);
    expect(response.status()).toBe(202);
    expect(response.request().headers()["idempotency-key"]).toMatch(/^[0-9a-f-]{36}$/);
    await page.waitForSelector(statusOf(paid.id, "Refunded"));
    expect(await page.locator(`tr[data-order-id="${paid.id}"] button.cancel`).count()).toBe(0);
    expect(await page.evaluate(() => "notReloaded" in window)).toBe(true);
    const statuses = pushed
      .map((frame) => (JSON.parse(frame) as { order: { id: string; status: string } }).order)
      .filter((order) => order.id === paid.id)
      .map((order) => order.status);
    expect(statuses.slice(-2)).toEqual(["RefundPending", "Refunded"]);
    expect(((await call("GET", `/api/accounts/${userId}`, undefined, 200)) as { balance: number }).balance).toBe(balanceBefore);
    await page.screenshot({ path: join(screenshotDir, "desktop-refunded.png"), fullPage: true });

    expect(errors).toEqual([]);
    await page.context().close();
  });

  test("fits a phone screen without horizontal scrolling", async () => {
    // An order of its own with a long, unbroken description, so this test does not depend on the one above.
    const description = `Gift-wrapped ${"extraordinarily".repeat(4)} long description`;
    const order = (await call("POST", "/api/orders", { userId, amount: 12.5, description }, 201)) as { id: string };
    const phoneWidth = 390;
    const { page, errors } = await openPage({
      viewport: { width: phoneWidth, height: 844 },
      deviceScaleFactor: 2,
      isMobile: true,
      hasTouch: true,
    });

    await page.goto(`${baseUrl}/?userId=${userId}`);
    await page.waitForSelector("#connection.live");
    await page.waitForSelector(statusOf(order.id, "PaymentCompleted"));
    await page.screenshot({ path: join(screenshotDir, "phone.png"), fullPage: true });

    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(phoneWidth);
    for (const selector of ["#user-id", "#user-form button[type=submit]", "#amount", "#description", "#place"]) {
      const control = page.locator(selector);
      expect(await control.isVisible(), `${selector} is visible`).toBe(true);
      const box = await control.boundingBox();
      expect(box, `${selector} has a box`).not.toBeNull();
      expect(box!.x).toBeGreaterThanOrEqual(0);
      expect(box!.x + box!.width, `${selector} ends inside the screen`).toBeLessThanOrEqual(phoneWidth);
    }

    expect(errors).toEqual([]);
    await page.context().close();
  });
});
