import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { randomUUID } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Browser, Page } from "playwright-core";
import { allModules } from "../support/all-modules";
import { loadConfig } from "../../shared/config";
import { createLogger } from "../../shared/logger";
import { startServer } from "../../shared/server";
import { createTestDatabase } from "../../shared/testing/postgres";
import { deleteRedisKeys, testRedisPrefix } from "../../shared/testing/redis";
import { launchChromium } from "../support/chromium";

/**
 * The status page's account panel in a real headless browser: the whole walkthrough on one page
 * (open an account, deposit, place orders, the balance following each payment, no reload), in
 * mono (one origin) and in split (orders told where payments is, payments allowing its origin),
 * and what it says when it cannot do it.
 */
const cleanups: (() => Promise<unknown>)[] = [];
const prefix = testRedisPrefix();
let browser: Browser;
let mono: string;
let split: { orders: string; payments: string; ordersUntold: string; ordersNotAllowed: string };

async function start(env: Record<string, string>): Promise<string> {
  const dataDir = await mkdtemp(join(tmpdir(), "gozon-account-page-"));
  cleanups.push(() => rm(dataDir, { recursive: true, force: true }));
  const config = loadConfig({ PORT: "0", DATA_DIR: dataDir, LOG_LEVEL: "error", ...env }, allModules);
  const server = await startServer(config, allModules, { logger: createLogger({ level: "error" }) });
  cleanups.push(() => server.stop());
  return `http://127.0.0.1:${server.port}`;
}

/** A port nothing listens on right now, for a server whose URL another must know before it starts. */
function freePort(): number {
  const probe = Bun.serve({ port: 0, fetch: () => new Response() });
  const port = probe.port!;
  probe.stop(true);
  return port;
}

beforeAll(async () => {
  // One database per system: two systems on one database would share its relays' locks.
  const [monoDatabase, splitDatabase] = [await createTestDatabase(), await createTestDatabase()];
  cleanups.push(() => monoDatabase.drop(), () => splitDatabase.drop());
  cleanups.push(() => deleteRedisKeys(prefix));
  mono = await start({ MODE: "mono", DATABASE_URL: monoDatabase.url, BUS: "memory" });

  const splitEnv = { DATABASE_URL: splitDatabase.url, BUS: "redis", REDIS_PREFIX: prefix };
  const ordersPort = freePort();
  const orders = `http://127.0.0.1:${ordersPort}`;
  const payments = await start({ ...splitEnv, MODE: "payments", CORS_ORIGINS: orders });
  split = {
    payments,
    orders: await start({ ...splitEnv, MODE: "orders", PORT: String(ordersPort), PAYMENTS_PUBLIC_URL: payments }),
    ordersUntold: await start({ ...splitEnv, MODE: "orders" }),
    ordersNotAllowed: await start({ ...splitEnv, MODE: "orders", PAYMENTS_PUBLIC_URL: payments }),
  };
  browser = await launchChromium();
  cleanups.push(() => browser.close());
}, 60_000);

afterAll(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch((error: unknown) => console.error(error));
});

async function openPage(baseUrl: string, userId: string, viewport = { width: 1100, height: 800 }) {
  const context = await browser.newContext({ viewport, locale: "en-US" });
  const page = await context.newPage();
  page.setDefaultTimeout(15_000);
  const errors: string[] = [];
  page.on("pageerror", (error) => errors.push(error.message));
  let loads = 0;
  page.on("load", () => loads++);
  await page.goto(`${baseUrl}/?userId=${userId}`);
  await page.waitForSelector("#connection.live");
  return { page, errors, loads: () => loads };
}

const balance = (page: Page, text: string) => page.waitForFunction((expected) => document.querySelector("#balance")?.textContent === expected, text);
const settled = (page: Page, description: string, status: string) =>
  page.waitForSelector(`#orders tr:has-text("${description}") [data-status="${status}"]`);

/** With the keyboard only: focus the field, type, Enter (the forms submit on Enter). */
async function typeAndEnter(page: Page, selector: string, text: string) {
  await page.focus(selector);
  await page.keyboard.type(text);
  await page.keyboard.press("Enter");
}

async function order(page: Page, amount: string, description: string) {
  await page.fill("#description", description);
  await page.fill("#amount", amount); // the form keeps the last amount: replace it
  await page.press("#amount", "Enter");
}

/** The walkthrough, in the page only: open the account, deposit 100, pay 30, fail 500; the balance follows. */
async function walkthrough(baseUrl: string, apiOf: { payments: string }) {
  const userId = randomUUID();
  const { page, errors, loads } = await openPage(baseUrl, userId);

  await page.waitForSelector("#account-missing", { state: "visible" });
  expect(await page.isVisible("#deposit-form")).toBe(false);
  await page.focus("#open-account");
  await page.keyboard.press("Enter");
  await balance(page, "0.00");
  expect(await page.evaluate(() => document.activeElement?.id)).toBe("deposit-amount"); // ready to type the deposit
  await page.keyboard.type("100");
  await page.keyboard.press("Enter");
  await balance(page, "100.00");
  expect(await page.textContent("#account-message")).toBe("Deposited 100.00.");

  await order(page, "30", "A book");
  await settled(page, "A book", "PaymentCompleted");
  await balance(page, "70.00");
  await order(page, "500", "A car");
  await settled(page, "A car", "PaymentFailed");
  await balance(page, "70.00");

  expect(await (await fetch(`${apiOf.payments}/api/accounts/${userId}`)).json()).toEqual({ userId, balance: 70 });
  expect(loads()).toBe(1); // everything above happened without a reload
  expect(errors).toEqual([]);
  return page;
}

describe("the account panel", () => {
  test("mono: open an account, deposit, and the balance follows each payment without a reload", async () => {
    const page = await walkthrough(mono, { payments: mono });
    await page.screenshot({ path: join(tmpdir(), "gozon-account-panel-desktop.png"), fullPage: true });
  }, 60_000);

  test("split, with orders told where payments is and payments allowing the page's origin: the same walkthrough", async () => {
    await walkthrough(split.orders, split);
  }, 60_000);

  test("errors are shown in the page: a refused deposit, and payments not allowing this origin", async () => {
    const userId = randomUUID();
    const { page } = await openPage(mono, userId);
    await page.click("#open-account");
    await balance(page, "0.00");
    await typeAndEnter(page, "#deposit-amount", "2000000000000"); // over the 10^12 limit
    await page.waitForSelector("#account-message.error");
    expect(await page.textContent("#account-message")).toContain("amount");
    await balance(page, "0.00");

    const refused = await openPage(split.ordersNotAllowed, randomUUID());
    await refused.page.waitForSelector("#account-message.error");
    const message = await refused.page.textContent("#account-message");
    expect(message).toContain(`Could not reach payments at ${split.payments}`);
    expect(message).toContain("CORS_ORIGINS");
  }, 60_000);

  test("split, orders not told where payments is: says where deposits are made", async () => {
    const { page, errors } = await openPage(split.ordersUntold, randomUUID());
    await page.waitForSelector("#account-elsewhere", { state: "visible" });
    const text = await page.textContent("#account-elsewhere");
    expect(text).toContain("payments service");
    expect(text).toContain("PAYMENTS_PUBLIC_URL");
    expect(await page.isVisible("#open-account")).toBe(false);
    expect(errors).toEqual([]);
  }, 30_000);

  test("on a phone: the panel fits the width and its buttons are full width", async () => {
    const phoneWidth = 390;
    const { page } = await openPage(mono, randomUUID(), { width: phoneWidth, height: 844 });
    await page.waitForSelector("#account-missing", { state: "visible" });
    await page.click("#open-account");
    await balance(page, "0.00");
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(phoneWidth);
    const button = await page.locator("#deposit").boundingBox();
    const form = await page.locator("#deposit-form").boundingBox();
    expect(button!.width).toBeCloseTo(form!.width, 0);
    await page.screenshot({ path: join(tmpdir(), "gozon-account-panel-phone.png"), fullPage: true });
  }, 30_000);
});
