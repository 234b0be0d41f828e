import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

const root = join(import.meta.dir, "../..");
export const startTimeoutMs = 40_000;

/** The real process, as `npm start` runs it, on a free port with a data directory of its own. */
export interface SystemProcess {
  readonly process: Bun.Subprocess<"ignore", "pipe", "pipe">;
  readonly output: { stdout: string; stderr: string };
  /** Resolves once both streams have ended (the process has exited and all output is read). */
  readonly drained: Promise<unknown>;
  /** Waits for the "listening on :PORT" line and returns the base URL. */
  listening(): Promise<string>;
  /** SIGTERM, then the exit status. */
  stop(): Promise<number>;
  /** SIGKILL (a crash), then waits for the exit. */
  kill(): Promise<void>;
  /** Removes the data directory (after the process has exited). */
  cleanup(): Promise<void>;
}

export async function startProcess(env: Record<string, string>): Promise<SystemProcess> {
  const dataDir = await mkdtemp(join(tmpdir(), "gozon-e2e-"));
  const child = Bun.spawn([process.execPath, "main.ts"], {
    cwd: root,
    // Only what a shell would give, so nothing from the test runner's environment leaks in.
    env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "", PORT: "0", DATA_DIR: dataDir, ...env },
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
  });
  const output = { stdout: "", stderr: "" };
  const drained = Promise.all([
    collect(child.stdout, (text) => (output.stdout += text)),
    collect(child.stderr, (text) => (output.stderr += text)),
  ]);
  const port = () => /listening on :(\d+)/.exec(output.stdout)?.[1];
  return {
    process: child,
    output,
    drained,
    async listening() {
      const deadline = Date.now() + startTimeoutMs;
      while (!port()) {
        if (child.exitCode !== null) {
          await drained;
          throw new Error(`exited ${child.exitCode} before listening:\n${output.stderr}${output.stdout}`);
        }
        if (Date.now() > deadline) throw new Error(`no "listening on" line within ${startTimeoutMs} ms:\n${output.stdout}`);
        await Bun.sleep(20);
      }
      return `http://127.0.0.1:${port()}`;
    },
    async stop() {
      if (child.exitCode === null) child.kill("SIGTERM");
      return child.exited;
    },
    async kill() {
      if (child.exitCode === null) child.kill("SIGKILL");
      await child.exited;
    },
    async cleanup() {
      if (child.exitCode === null) child.kill("SIGKILL");
      await child.exited;
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

async function collect(stream: ReadableStream<Uint8Array>, append: (text: string) => void): Promise<void> {
  const decoder = new TextDecoder();
  const reader = stream.getReader();
  for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) append(decoder.decode(chunk.value, { stream: true }));
}
