import { describe, expect, test } from "bun:test";
import { join } from "node:path";
import packageJson from "../../package.json";
import { benchFetchLimit, parseOpenFileLimit } from "./fetch-limit";

const script = join(import.meta.dir, "fetch-limit.ts");

/** Runs `simultaneousFetches(count)` in a fresh Bun process with the given value of the variable (unset: undefined). */
async function simultaneousIn(limit: string | undefined, count: number, waitMs: number): Promise<number> {
  const env: Record<string, string | undefined> = { ...process.env, BUN_CONFIG_MAX_HTTP_REQUESTS: limit };
  if (limit === undefined) delete env.BUN_CONFIG_MAX_HTTP_REQUESTS;
  const child = Bun.spawn([process.execPath, script, String(count), String(waitMs)], { env, stdout: "pipe", stderr: "inherit" });
  const [text, status] = await Promise.all([new Response(child.stdout).text(), child.exited]);
  expect(status).toBe(0);
  return Number(text.trim());
}

describe("Bun's fetch limit and the bench", () => {
  test("package.json's bench script raises BUN_CONFIG_MAX_HTTP_REQUESTS to Bun's maximum", () => {
    expect(packageJson.scripts.bench).toMatch(new RegExp(`^BUN_CONFIG_MAX_HTTP_REQUESTS=${benchFetchLimit} exec bun run scripts/bench\\.ts$`));
  });

  test("unset, a process keeps at most 256 requests in flight; with the bench's value, all 600 get there at once", async () => {
    // Capped: 256 arrive and the rest would only leave once one is answered, which the server
    // holds back: the wait ends at its deadline. Uncapped: all arrive, and it ends at once.
    expect(await simultaneousIn(undefined, 600, 1_500)).toBe(256);
    expect(await simultaneousIn(String(benchFetchLimit), 600, 20_000)).toBe(600);
  });
});

describe("parseOpenFileLimit", () => {
  const limits = (files: string) => `Limit                     Soft Limit           Hard Limit           Units     
Max cpu time              unlimited            unlimited            seconds   
Max open files            ${files}                files     
Max locked memory         8388608              8388608              bytes     
`;

  test("reads the soft limit", () => {
    expect(parseOpenFileLimit(limits("20000                65536"))).toBe(20_000);
    expect(parseOpenFileLimit(limits("unlimited            unlimited"))).toBe(Number.POSITIVE_INFINITY);
    expect(parseOpenFileLimit("Limit Soft Hard Units\n")).toBeUndefined();
  });
});
