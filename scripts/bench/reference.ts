/**
 * `--reference`: the naive per-order SQL (bench/pgbench/order.sql: three transactions, a round
 * trip per statement) under pgbench, 16 clients, in a scratch database of its own on the same
 * PostgreSQL, with the same CPU accounting as the system's run. The system's figures are then
 * reported as ratios to it: a ratio taken in one run travels between machines, an absolute
 * figure does not.
 */
import { randomUUID } from "node:crypto";
import { join } from "node:path";
import postgres from "postgres";
import { classifyBy, measureCpu, type CpuUsage } from "./cpu";

const root = join(import.meta.dir, "../..");
export const referenceClients = 16;
export const referenceSeconds = 15;

export interface ReferenceResult {
  /** Orders (pgbench transactions: one script run = one order) per second, connection time excluded. */
  ordersPerSecond: number;
  orders: number;
  usage: CpuUsage;
}

/** The figures pgbench prints at the end; throws when they are not there. */
export function parsePgbenchOutput(text: string): { orders: number; ordersPerSecond: number } {
  const processed = /number of transactions actually processed:\s*(\d+)/.exec(text);
  const tps = /tps = ([\d.]+) \(without initial connection time\)/.exec(text);
  if (!processed || !tps) throw new Error(`pgbench printed no result:\n${text.trim().split("\n").slice(-10).join("\n")}`);
  return { orders: Number(processed[1]), ordersPerSecond: Number(tps[1]) };
}

/** The URL of a database `name` on the server of `url` (same host, port, user, options). */
export function databaseUrl(url: string, name: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${name}`;
  return parsed.toString();
}

/**
 * Creates a scratch database beside the one in `url`, loads bench/pgbench/schema.sql with psql,
 * runs pgbench for `seconds` while sampling CPU, and drops the database whatever happens.
 */
export async function runReference(url: string, progress: (line: string) => void, seconds = referenceSeconds): Promise<ReferenceResult> {
  const name = `gozon_reference_${randomUUID().slice(0, 8)}`;
  const admin = postgres(url, { max: 1, onnotice: () => {} });
  const scratch = databaseUrl(url, name);
  try {
    await admin.unsafe(`create database ${name}`);
    await run(["psql", "-q", "-v", "ON_ERROR_STOP=1", "-f", join(root, "bench/pgbench/schema.sql"), scratch]);
    progress(`reference: pgbench, ${referenceClients} clients, ${seconds} s, naive per-order SQL (bench/pgbench/order.sql) in ${name}`);
    const command = ["pgbench", "-n", "-c", String(referenceClients), "-j", "2", "-T", String(seconds), "-f", join(root, "bench/pgbench/order.sql"), scratch];
    const child = spawnTool(command);
    const { result: output, usage } = await measureCpu(classifyBy({ gozon: [], client: [child.pid] }, [name]), async () => {
      const [stdout, stderr, status] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited]);
      if (status !== 0) throw new Error(`pgbench exited with status ${status}: ${stderr.trim().split("\n").slice(-3).join(" ")}`);
      return stdout;
    });
    const { orders, ordersPerSecond } = parsePgbenchOutput(output);
    return { orders, ordersPerSecond, usage };
  } finally {
    await admin.unsafe(`drop database if exists ${name} with (force)`).catch((error: unknown) => progress(`reference: could not drop ${name}: ${String(error)}`));
    await admin.end({ timeout: 1 });
  }
}

/** Starts a PostgreSQL client tool; one clear line when it is not installed. */
function spawnTool(command: string[]) {
  try {
    return Bun.spawn(command, { stdout: "pipe", stderr: "pipe" });
  } catch {
    throw new Error(`--reference needs ${command[0]} on the PATH (Debian: apt-get install postgresql-client)`);
  }
}

async function run(command: string[]): Promise<void> {
  const child = spawnTool(command);
  const [stderr, status] = await Promise.all([new Response(child.stderr).text(), child.exited]);
  if (status !== 0) throw new Error(`${command[0]} exited with status ${status}: ${stderr.trim().split("\n").slice(-3).join(" ")}`);
}
