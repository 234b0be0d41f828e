import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { chmod, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

// scripts/ensure-chromium.sh where it may not install: it must stop at once, with one line saying
// what to install, never pass. (Where it may, it installs; that path was checked by hand, since a
// test must not remove a browser other test runs on this machine use.)
let dir: string;
let script: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "gozon-ensure-chromium-"));
  await chmod(dir, 0o755);
  script = join(dir, "ensure-chromium.sh");
  const original = await readFile(join(import.meta.dir, "ensure-chromium.sh"), "utf8");
  expect(original).toContain("chromium=/usr/bin/chromium\n");
  // The same script, looking for a browser that is not there.
  await writeFile(script, original.replace("chromium=/usr/bin/chromium\n", `chromium=${join(dir, "no-chromium")}\n`));
  await chmod(script, 0o755);
});

afterAll(() => rm(dir, { recursive: true, force: true }));

async function run(command: string[], env: Record<string, string>) {
  const child = Bun.spawn(command, { env, stdout: "pipe", stderr: "pipe" });
  const [stdout, stderr, status] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited]);
  return { stdout, stderr, status };
}

describe("ensure-chromium.sh, where it cannot install", () => {
  test.each([
    ["a machine without apt-get", (path: string) => ["/bin/bash", path], { PATH: "/nonexistent" }],
    ["a user who is not root and has no sudo", (path: string) => ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups", "bash", path], { PATH: "/usr/bin:/bin" }],
  ] as const)("%s: exit 1, one line naming the package", async (_name, command, env) => {
    if (command(script)[0] === "setpriv" && process.getuid?.() !== 0) return; // only root can become nobody to check it
    const { stdout, stderr, status } = await run([...command(script)], { ...env, HOME: dir });
    expect(status).toBe(1);
    expect(stdout).toBe("");
    const lines = stderr.trimEnd().split("\n");
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain("apt-get install -y --no-install-recommends chromium");
  });
});
