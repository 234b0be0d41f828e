import { closeSync, openSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { Subprocess } from "bun";
import type { BenchOptions } from "./args";

const root = join(import.meta.dir, "../..");
const readyTimeoutMs = 60_000;
const stopGraceMs = 10_000;

/** Gozon as the bench runs it: one process (mono) or two (split), each logging to a file of its own. */
export interface RunningSystem {
  ordersUrl: string;
  paymentsUrl: string;
  logFiles: string[];
  /** The process ids, for the CPU accounting; kept current: a restarted process's id replaces the old one in place. */
  pids: number[];
  /** Each process's name ("mono", or "orders" and "payments") and current id. */
  processes(): { name: string; pid: number }[];
  /** SIGTERM to one process, SIGKILL after 10 s; resolves once it exited. One that did not exit 0 is a line of `stop`'s result. */
  stopProcess(name: string): Promise<void>;
  /** Starts a stopped process again, with the same settings, port and log file; resolves once it answers `/health/ready`. */
  startProcess(name: string): Promise<void>;
  /** SIGTERM to each process, SIGKILL after 10 s; returns one line per process that did not exit 0 (now or when stopped before). */
  stop(): Promise<string[]>;
}

interface Child {
  name: string;
  url: string;
  logFile: string;
  env: Record<string, string>;
  process: Subprocess;
}

/** Starts the processes and waits until each answers `/health/ready`; on failure stops what started and throws with the log's tail. */
export async function startSystem(options: BenchOptions, workDir: string, extraEnv: Record<string, string>): Promise<RunningSystem> {
  const port = options.port ?? (await freePorts(options.mode === "split" ? 2 : 1));
  const specs =
    options.mode === "mono"
      ? [{ name: "mono", env: { MODE: "mono", PORT: String(port) } }]
      : [
          { name: "orders", env: { MODE: "orders", PORT: String(port) } },
          { name: "payments", env: { MODE: "payments", PORT: String(port + 1) } },
        ];
  const spawn = (name: string, env: Record<string, string>, logFile: string) => {
    const fd = openSync(logFile, "a");
    const profile = options.cpuProfileDir ? ["--cpu-prof", "--cpu-prof-md", `--cpu-prof-dir=${options.cpuProfileDir}`, `--cpu-prof-name=${name}.cpuprofile`] : [];
    try {
      return Bun.spawn([process.execPath, ...profile, "main.ts"], {
        cwd: root,
        env,
        stdin: "ignore",
        stdout: fd,
        stderr: fd,
        // A process group of its own: a Ctrl-C reaches only the bench, which then stops each child once.
        detached: true,
      });
    } finally {
      closeSync(fd);
    }
  };
  const children: Child[] = specs.map(({ name, env: own }) => {
    const logFile = join(workDir, `${name}.log`);
    const env = { ...baseEnv(options, workDir), ...extraEnv, ...own };
    return { name, url: `http://127.0.0.1:${own.PORT}`, logFile, env, process: spawn(name, env, logFile) };
  });
  const notes: string[] = [];
  // Processes stopped by `stopProcess` and not started again: their line, if any, is in `notes`.
  const stopped = new WeakSet<Subprocess>();
  const stop = async () => {
    const lines = await Promise.all(children.filter((child) => !stopped.has(child.process)).map(stopChild));
    return [...notes, ...lines.filter((line): line is string => line !== undefined)];
  };
  try {
    await Promise.all(children.map(waitReady));
  } catch (error) {
    await stop();
    throw error;
  }
  const pids = children.map((child) => child.process.pid);
  const named = (name: string) => {
    const child = children.find((candidate) => candidate.name === name);
    if (!child) throw new Error(`no process named ${name} (running: ${children.map((each) => each.name).join(", ")})`);
    return child;
  };
  const [orders, payments = orders] = children as [Child, Child?];
  return {
    ordersUrl: orders.url,
    paymentsUrl: payments.url,
    logFiles: children.map(({ logFile }) => logFile),
    pids,
    processes: () => children.map(({ name, process: child }) => ({ name, pid: child.pid })),
    async stopProcess(name) {
      const child = named(name);
      stopped.add(child.process);
      const note = await stopChild(child);
      if (note) notes.push(note);
    },
    async startProcess(name) {
      const child = named(name);
      if (child.process.exitCode === null && child.process.signalCode === null) throw new Error(`${name} is still running`);
      child.process = spawn(name, child.env, child.logFile);
      pids[children.indexOf(child)] = child.process.pid;
      await waitReady(child);
    },
    stop,
  };
}

/** Only what the system needs: nothing else from the caller's environment (an AUTH=jwt, a stray URL) leaks in. */
function baseEnv(options: BenchOptions, workDir: string): Record<string, string> {
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? "",
    HOME: process.env.HOME ?? "",
    BUS: options.bus,
    AUTH: "none",
    DATA_DIR: join(workDir, "data"),
    LOG_LEVEL: process.env.LOG_LEVEL ?? "info",
  };
  if (options.db === "postgres" && options.databaseUrl) env.DATABASE_URL = options.databaseUrl;
  const passThrough = options.bus === "redis" ? ["REDIS_URL"] : options.bus === "kafka" ? ["KAFKA_BROKERS", "KAFKA_SSL", "KAFKA_SASL_MECHANISM", "KAFKA_SASL_USERNAME", "KAFKA_SASL_PASSWORD"] : [];
  for (const name of passThrough) if (process.env[name]) env[name] = process.env[name];
  // Settings a run may compare (tracing on or off, retention windows, the Redis lease, allocator
  // tuning) go through as given.
  for (const [name, value] of Object.entries(process.env)) if (value && tunables.test(name)) env[name] = value;
  return env;
}

/** Variables the bench hands to the system from its own environment. */
export const tunables = /^(OTEL_\w+|INBOX_RETENTION|IDEMPOTENCY_KEY_RETENTION|OUTBOX_RETENTION|DEAD_LETTER_RETENTION|REDIS_PARTITION_LEASE|ORDER_INTAKE_\w+|REQUEST_MAX_\w+|MAX_EVENT_LOOP_DELAY|MIMALLOC_\w+)$/;

async function waitReady(child: Child): Promise<void> {
  const deadline = Date.now() + readyTimeoutMs;
  for (;;) {
    if (child.process.exitCode !== null) throw new Error(`${child.name} exited with status ${child.process.exitCode} before it was ready\n${tail(child.logFile)}`);
    const status = await fetch(`${child.url}/health/ready`, { signal: AbortSignal.timeout(2_000) }).then((response) => response.status, () => 0);
    if (status === 200) return;
    if (Date.now() > deadline) throw new Error(`${child.name} not ready within ${readyTimeoutMs / 1000} s (last /health/ready: ${status || "no answer"})\n${tail(child.logFile)}`);
    await Bun.sleep(100);
  }
}

async function stopChild(child: Child): Promise<string | undefined> {
  const { process: subprocess, name } = child;
  if (subprocess.exitCode === null && subprocess.signalCode === null) {
    subprocess.kill("SIGTERM");
    const timer = setTimeout(() => subprocess.kill("SIGKILL"), stopGraceMs);
    await subprocess.exited;
    clearTimeout(timer);
  }
  if (subprocess.exitCode === 0) return undefined;
  return `${name} exited with ${subprocess.signalCode ?? `status ${subprocess.exitCode}`} on SIGTERM${subprocess.signalCode === "SIGKILL" ? ` (killed after ${stopGraceMs / 1000} s)` : ""}`;
}

/** The last lines of a log file, indented, for an error message. */
export function tail(logFile: string, lines = 40): string {
  try {
    const text = readFileSync(logFile, "utf8").trimEnd().split("\n").slice(-lines);
    return `--- last ${text.length} lines of ${logFile}\n${text.join("\n")}`;
  } catch {
    return `(no log at ${logFile})`;
  }
}

/** A port P such that P .. P + count - 1 are all free right now. */
async function freePorts(count: number): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const probe = Bun.serve({ port: 0, fetch: () => new Response() });
    const first = probe.port!;
    const others: Bun.Server<unknown>[] = [];
    try {
      for (let offset = 1; offset < count; offset++) others.push(Bun.serve({ port: first + offset, fetch: () => new Response() }));
      return first;
    } catch {
      // Taken: try another ephemeral port.
    } finally {
      for (const server of [probe, ...others]) await server.stop(true);
    }
  }
  throw new Error(`found no ${count} consecutive free ports`);
}
