import { existsSync } from "node:fs";
import { chromium, type Browser } from "playwright-core";

/** Debian's chromium, which `npm test` installs when it is missing (scripts/ensure-chromium.sh). */
export const chromiumPath = "/usr/bin/chromium";

// No network on CI machines: nothing may try to reach Google's services at start-up.
export const chromiumArgs = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
  "--disable-background-networking", "--disable-component-update", "--disable-sync"];

/** Launches headless chromium; a missing browser fails the test with the line ensure-chromium.sh prints, never a skip. */
export async function launchChromium(): Promise<Browser> {
  if (!existsSync(chromiumPath)) {
    throw new Error(
      `the browser tests need Debian's chromium at ${chromiumPath}; npm test installs it when run as root (scripts/ensure-chromium.sh), or install it as root with: apt-get install -y --no-install-recommends chromium`,
    );
  }
  return chromium.launch({ executablePath: chromiumPath, args: chromiumArgs });
}
