/**
 * CPU accounting for the bench: how much CPU time the whole machine, and each part
 * of the system, spent over a window, read from Linux's `/proc`. Ratios of these per order travel
 * between machines of one kind; absolute latencies do not. The parsers are pure; `sampleCpu`
 * reads the files.
 */
import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";

/** The groups of processes the bench reports apart. */
export const cpuGroups = ["gozon", "postgres", "redis", "client"] as const;
export type CpuGroup = (typeof cpuGroups)[number];

/** Machine-wide counters from the `cpu` and `ctxt` lines of /proc/stat, in clock ticks. */
export interface MachineCounters {
  /** Ticks spent on anything but idle and iowait, over all cores. */
  busyTicks: number;
  /** Ticks of all kinds, over all cores (busy + idle + iowait). */
  totalTicks: number;
  /** Ticks in the kernel (system + irq + softirq). */
  kernelTicks: number;
  contextSwitches: number;
}

/** Parses /proc/stat. Throws when the lines it needs are missing. */
export function parseProcStat(text: string): MachineCounters {
  const cpu = /^cpu\s+(.+)$/m.exec(text);
  const ctxt = /^ctxt\s+(\d+)$/m.exec(text);
  if (!cpu || !ctxt) throw new Error("/proc/stat has no aggregate cpu line or no ctxt line");
  // user nice system idle iowait irq softirq steal [guest guest_nice] — guest time is already in user.
  const [user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0] = cpu[1]!.trim().split(/\s+/).map(Number);
  const busyTicks = user + nice + system + irq + softirq + steal;
  return { busyTicks, totalTicks: busyTicks + idle + iowait, kernelTicks: system + irq + softirq, contextSwitches: Number(ctxt[1]) };
}

/** One process from /proc/<pid>/stat: its command name and the CPU it has used (all its threads). */
export interface ProcessCounters {
  pid: number;
  command: string;
  /** utime + stime, in clock ticks. */
  ticks: number;
}

/**
 * Parses /proc/<pid>/stat. The command name sits in parentheses and may itself contain spaces
 * and parentheses, so the fields after it are counted from the last ")".
 */
export function parseProcessStat(text: string): ProcessCounters {
  const open = text.indexOf("(");
  const close = text.lastIndexOf(")");
  if (open < 0 || close < open) throw new Error(`not a /proc/<pid>/stat line: ${text.slice(0, 80)}`);
  const pid = Number(text.slice(0, open).trim());
  const command = text.slice(open + 1, close);
  // Fields from 3 (state) on; utime and stime are fields 14 and 15 of the whole line.
  const rest = text.slice(close + 1).trim().split(/\s+/);
  const utime = Number(rest[11]);
  const stime = Number(rest[12]);
  if (!Number.isFinite(pid) || !Number.isFinite(utime) || !Number.isFinite(stime)) throw new Error(`bad /proc/<pid>/stat line: ${text.slice(0, 80)}`);
  return { pid, command, ticks: utime + stime };
}

/** Which group a process belongs to, if any; `title` reads its command line (asked only for PostgreSQL's). */
export type Classifier = (process: ProcessCounters, title: () => string) => CpuGroup | undefined;

/**
 * The database a PostgreSQL backend serves, from the title it shows in its command line
 * (`postgres: 15/main: <user> <database> <client> <activity>`); undefined for the server's own
 * processes (checkpointer, walwriter, …), which work for every database.
 */
export function backendDatabase(title: string): string | undefined {
  if (!title.startsWith("postgres: ")) return undefined; // the postmaster: its command line, no title
  const words = title.slice("postgres: ".length).trim().split(/\s+/);
  if (words[0]?.endsWith(":")) words.shift(); // the cluster name, when it has one
  if (words[0] === "autovacuum" && words[1] === "worker") return words[2];
  // A backend: user, database, client address ("127.0.0.1(5432)" or "[local]"), activity.
  const client = words[2] ?? "";
  return client.includes("(") || client === "[local]" ? words[1] : undefined;
}

/**
 * The Gozon processes and the client by pid (a few of each); Redis by command name; PostgreSQL by command name
 * too, and when `databases` is given only the backends of those databases (plus the server's own
 * processes), so tests or other work on the same server do not count.
 */
export function classifyBy(pids: { gozon: readonly number[]; client: readonly number[] }, databases?: readonly string[]): Classifier {
  const watched = databases && new Set(databases);
  // The arrays are read at each call: a process restarted during the window (its id replaced in
  // place) counts from its start.
  return (process, title) => {
    if (pids.gozon.includes(process.pid)) return "gozon";
    if (pids.client.includes(process.pid)) return "client";
    if (process.command === "redis-server") return "redis";
    if (process.command !== "postgres") return undefined;
    if (!watched) return "postgres";
    const database = backendDatabase(title());
    return database === undefined || watched.has(database) ? "postgres" : undefined;
  };
}

/** Counters at one instant: the machine's, and each classified process's. */
export interface CpuSample {
  machine: MachineCounters;
  processes: Map<number, { group: CpuGroup; ticks: number }>;
}

/** CPU time spent over a window, in milliseconds. */
export interface CpuUsage {
  machine: number;
  kernel: number;
  groups: Record<CpuGroup, number>;
  contextSwitches: number;
  /** The window's wall time × cores: what the machine could have spent. */
  capacity: number;
}

/**
 * What was spent between two samples. A process seen in both counts its difference; one that
 * started during the window counts all it used (it started from zero); one that ended during
 * the window is lost (the kernel keeps no record of it), which is why the machine's figure is
 * the one to trust and the groups are a split of it.
 */
export function usageBetween(before: CpuSample, after: CpuSample, ticksPerSecond: number): CpuUsage {
  const ms = (ticks: number) => (ticks * 1_000) / ticksPerSecond;
  const groups = Object.fromEntries(cpuGroups.map((group) => [group, 0])) as Record<CpuGroup, number>;
  for (const [pid, { group, ticks }] of after.processes) {
    const earlier = before.processes.get(pid);
    groups[group] += ms(ticks - (earlier && earlier.group === group ? earlier.ticks : 0));
  }
  return {
    machine: ms(after.machine.busyTicks - before.machine.busyTicks),
    kernel: ms(after.machine.kernelTicks - before.machine.kernelTicks),
    groups,
    contextSwitches: after.machine.contextSwitches - before.machine.contextSwitches,
    capacity: ms(after.machine.totalTicks - before.machine.totalTicks),
  };
}

/** CPU milliseconds per order, for the summary and the JSON line. */
export interface CpuPerOrder {
  machine: number;
  gozon: number;
  postgres: number;
  redis: number;
  client: number;
}

export function perOrder(usage: CpuUsage, orders: number): CpuPerOrder {
  const each = (ms: number) => (orders > 0 ? ms / orders : Number.NaN);
  return {
    machine: each(usage.machine),
    gozon: each(usage.groups.gozon),
    postgres: each(usage.groups.postgres),
    redis: each(usage.groups.redis),
    client: each(usage.groups.client),
  };
}

/** Clock ticks per second (`getconf CLK_TCK`; 100 on every Linux this runs on). */
export function ticksPerSecond(): number {
  try {
    const value = Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim());
    return Number.isFinite(value) && value > 0 ? value : 100;
  } catch {
    return 100;
  }
}

/** Reads /proc now. Processes that vanish while being read are skipped. */
export function sampleCpu(classify: Classifier): CpuSample {
  const machine = parseProcStat(readFileSync("/proc/stat", "utf8"));
  const processes = new Map<number, { group: CpuGroup; ticks: number }>();
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    let counters: ProcessCounters;
    try {
      counters = parseProcessStat(readFileSync(`/proc/${entry}/stat`, "utf8"));
    } catch {
      continue;
    }
    const group = classify(counters, () => {
      try {
        return readFileSync(`/proc/${entry}/cmdline`, "utf8").replaceAll("\0", " ");
      } catch {
        return "";
      }
    });
    if (group) processes.set(counters.pid, { group, ticks: counters.ticks });
  }
  return { machine, processes };
}

/** True where the bench can account CPU (Linux with /proc). */
export function canSampleCpu(): boolean {
  try {
    parseProcStat(readFileSync("/proc/stat", "utf8"));
    return true;
  } catch {
    return false;
  }
}

/** Measures the CPU spent while `work` runs. */
export async function measureCpu<T>(classify: Classifier, work: () => Promise<T>): Promise<{ result: T; usage: CpuUsage }> {
  const ticks = ticksPerSecond();
  const before = sampleCpu(classify);
  const result = await work();
  return { result, usage: usageBetween(before, sampleCpu(classify), ticks) };
}
