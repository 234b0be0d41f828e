import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { randomUUID } from "node:crypto";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { sign } from "hono/jwt";
import type { Browser, BrowserContextOptions, Page } from "playwright-core";
import { allModules } from "../support/all-modules";
import { loadConfig } from "../../shared/config";
import { createLogger } from "../../shared/logger";
import { startServer } from "../../shared/server";
import { createTestDatabase } from "../../shared/testing/postgres";
import { launchChromium } from "../support/chromium";

/**
 * A new user's whole journey on the status page, in a real headless browser, without a reload:
 * open an account, deposit 100, order 30 (paid: 70), cancel it (Refunded: 100 again). On a desktop
 * and on a phone, with AUTH=none and with AUTH=jwt (the token on the WebSocket in its header, never
 * in the URL). The page must raise no script error and no Content-Security-Policy violation.
 */
const secret = "a-journey-test-secret-of-32-characters!";
const cleanups: (() => Promise<unknown>)[] = [];
let browser: Browser;

async function startSystem(env: Record<string, string>): Promise<string> {
  const database = await createTestDatabase();
  cleanups.push(() => database.drop());
  const config = loadConfig({ MODE: "mono", PORT: "0", DATABASE_URL: database.url, BUS: "memory", LOG_LEVEL: "error", ...env }, allModules);
  const server = await startServer(config, allModules, { logger: createLogger({ level: "error" }) });
  cleanups.push(() => server.stop());
  return `http://127.0.0.1:${server.port}`;
}

beforeAll(async () => {
  browser = await launchChromium();
  cleanups.push(() => browser.close());
}, 30_000);

afterAll(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch((error: unknown) => console.error(error));
});

const desktop: BrowserContextOptions = { viewport: { width: 1100, height: 800 }, locale: "en-US" };
const phone: BrowserContextOptions = { viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true, locale: "en-US" };

/** A page that records script errors, console errors (CSP violations among them) and loads. */
async function openPage(options: BrowserContextOptions, init?: (page: Page) => Promise<void>) {
  const context = await browser.newContext(options);
  cleanups.push(() => context.close());
  const page = await context.newPage();
  page.setDefaultTimeout(15_000);
  const problems: string[] = [];
  page.on("pageerror", (error) => problems.push(`script error: ${error.message}`));
  // Chromium logs every non-2xx answer as an error (the 404 of a user with no account yet is one): not a problem.
  page.on("console", (message) => {
    if (message.type() === "error" && !message.text().startsWith("Failed to load resource")) problems.push(`console: ${message.text()}`);
  });
  let loads = 0;
  page.on("load", () => loads++);
  const socketUrls: string[] = [];
  page.on("websocket", (socket) => socketUrls.push(socket.url()));
  await init?.(page);
  return { page, problems, loads: () => loads, socketUrls };
}

const balance = (page: Page, text: string) =>
  page.waitForFunction((expected) => document.querySelector("#balance")?.textContent === expected, text);
const row = (description: string) => `#orders tr:has-text("${description}")`;

/** Clicks on a desktop, taps on a phone: the way the user would press it. */
const press = (page: Page, selector: string, touch: boolean) => (touch ? page.tap(selector) : page.click(selector));

async function journey(page: Page, touch: boolean): Promise<void> {
  await page.waitForSelector("#connection.live");
  await page.waitForSelector("#account-missing", { state: "visible" });
  await press(page, "#open-account", touch);
  await balance(page, "0.00");
  await page.fill("#deposit-amount", "100");
  await press(page, "#deposit", touch);
  await balance(page, "100.00");

  await page.fill("#amount", "30");
  await page.fill("#description", "A teapot");
  await press(page, "#place", touch);
  await page.waitForSelector(`${row("A teapot")} [data-status="PaymentCompleted"]`);
  await balance(page, "70.00");

  const cancel = `${row("A teapot")} button.cancel`;
  expect(await page.isVisible(cancel)).toBe(true);
  await press(page, cancel, touch);
  await page.waitForSelector(`${row("A teapot")} [data-status="Refunded"]`);
  // The refund moved money: the balance follows without a reload.
  await balance(page, "100.00");
  expect(await page.locator(cancel).count()).toBe(0);
}

describe("the whole journey on the status page, without a reload", () => {
  let none: string;
  beforeAll(async () => {
    none = await startSystem({});
  }, 60_000);

  for (const [name, options] of [["desktop", desktop], ["phone", phone]] as const) {
    test(`AUTH=none, ${name}: open account → deposit → order → paid → cancel → Refunded → balance back`, async () => {
      const { page, problems, loads } = await openPage(options);
      await page.goto(`${none}/?userId=${randomUUID()}`);
      await journey(page, options === phone);
      if (options === phone) expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
      await page.screenshot({ path: join(tmpdir(), `gozon-journey-${name}.png`), fullPage: true });
      expect(loads()).toBe(1);
      expect(problems).toEqual([]);
    }, 60_000);
  }
});

describe("with AUTH=jwt, the token typed into the page", () => {
  let jwt: string;
  beforeAll(async () => {
    // A second of clock skew: a socket closes a second after its token's exp, not 30.
    jwt = await startSystem({ AUTH: "jwt", JWT_SECRET: secret, JWT_CLOCK_SKEW: "1s" });
  }, 60_000);

  /** Opens the page, and signs in as a new user with a token that expires in `seconds` (from the moment it is typed in). */
  async function signedIn(seconds: number) {
    const userId = randomUUID();
    const opened = await openPage(desktop);
    await opened.page.goto(`${jwt}/`);
    await opened.page.waitForSelector("#token", { state: "visible" });
    const now = Math.floor(Date.now() / 1_000);
    const token = await sign({ sub: userId, iat: now, exp: now + seconds }, secret, "HS256");
    await opened.page.fill("#user-id", userId);
    await opened.page.fill("#token", token);
    await opened.page.click("#user-form button[type=submit]");
    return { ...opened, token };
  }

  test("desktop: the same journey; the WebSocket carries the token in its header, never in its URL", async () => {
    const { page, problems, loads, socketUrls, token } = await signedIn(600);
    await journey(page, false);
    expect(socketUrls.length).toBeGreaterThan(0);
    for (const url of socketUrls) expect(url).not.toContain(token.split(".")[1]!);
    expect(loads()).toBe(1);
    expect(problems).toEqual([]);
  }, 60_000);

  test("when the token expires, the live updates stop and the page says why", async () => {
    const { page } = await signedIn(5);
    await page.waitForSelector("#connection.live");
    await page.waitForFunction(() => /the access token expired/.test(document.querySelector("#message")?.textContent ?? ""));
    await page.waitForSelector("#connection.down");
    // Reconnecting with the expired token is refused before the upgrade; the list request says why.
    await page.waitForFunction(() => /expired/.test(document.querySelector("#message")?.textContent ?? ""));
  }, 30_000);
});

describe("Swagger UI under the same Content-Security-Policy", () => {
  test("/docs renders the operations, with no violation", async () => {
    const docs = await startSystem({});
    const { page, problems } = await openPage(desktop);
    await page.goto(`${docs}/docs`);
    await page.waitForSelector(`.opblock-summary-path[data-path="/api/orders"]`);
    expect(await page.locator(".opblock").count()).toBeGreaterThan(5);
    expect(problems).toEqual([]);
  }, 60_000);
});
