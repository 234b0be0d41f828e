/**
 * `bun run bench [-- flags]`: starts Gozon as child processes, creates accounts, sends
 * orders over HTTP, waits for each order's terminal status on the WebSocket, and prints a summary
 * and one JSON line (the last line of stdout). Progress goes to stderr. `--help` lists the flags.
 * Exit status: 0 for a clean run, 1 when the system failed or any order ended in error (a refusal,
 * 503 with Retry-After, is one except with --overload), 2 for bad flags, or with --overload for a
 * fetch client that cannot keep the needed requests in flight. Whatever it started (processes,
 * temporary data, Redis keys) is removed at the end.
 */
import { randomUUID } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ArgumentError, parseArguments, usage, type BenchOptions } from "./bench/args";
import { closeOrderConnections, type Watchers } from "./bench/client";
import { logFindings } from "./bench/logs";
import { deleteRedisKeys } from "../shared/testing/redis";
import { runReference, type ReferenceResult } from "./bench/reference";
import { describeShape, formatCpu, jsonLine } from "./bench/report";
import { measuredRun, type RunOutput } from "./bench/run";
import { startSystem, tail, type RunningSystem } from "./bench/system";
import { warmUp } from "./bench/warmup";

let options: BenchOptions;
try {
  const parsed = parseArguments(process.argv.slice(2), process.env);
  if (!parsed) {
    console.log(usage);
    process.exit(0);
  }
  options = parsed;
} catch (error) {
  if (!(error instanceof ArgumentError)) throw error;
  console.error(`bench: ${error.message}`);
  process.exit(2);
}

const started = performance.now();
let interrupted = false;
const progress = (line: string) => {
  if (!interrupted) console.error(`[bench ${((performance.now() - started) / 1000).toFixed(1)} s] ${line}`);
};
const workDir = await mkdtemp(join(tmpdir(), "gozon-bench-"));
const redisUrl = process.env.REDIS_URL?.trim() || "redis://127.0.0.1:6379";
// The config's REDIS_PREFIX: this run's keys only, so they can be deleted without touching anything else.
const redisPrefix = `gozon-bench-${randomUUID().slice(0, 8)}:`;

let system: RunningSystem | undefined;
let watchers: Watchers | undefined;
let warmupWatchers: Watchers | undefined;
let cleaning: Promise<string[]> | undefined;
/** Closes the sockets, stops the processes, deletes the Redis keys; returns lines worth reporting. Runs once. */
const cleanup = () =>
  (cleaning ??= (async () => {
    warmupWatchers?.close();
    watchers?.close();
    closeOrderConnections();
    const notes = (await system?.stop()) ?? [];
    if (options.bus === "redis") {
      await deleteRedisKeys(redisPrefix, redisUrl).then(
        () => progress(`deleted the Redis keys under ${redisPrefix}`),
        (error: unknown) => notes.push(`could not delete the Redis keys under ${redisPrefix}: ${String(error)}`),
      );
    }
    return notes;
  })());
// Ctrl-C, or SIGTERM from whatever started the bench (npm passes it on): stop the children, which sit in process groups of their own.
for (const [signal, status] of [["SIGINT", 130], ["SIGTERM", 143]] as const) process.on(signal, () => {
  progress("interrupted: stopping the system");
  interrupted = true; // the run fails from here on: nothing more of it is worth printing
  void cleanup().finally(() => {
    console.error(`bench: interrupted; logs kept in ${workDir}`);
    process.exit(status);
  });
});

progress(`${describeShape(options)}; work directory ${workDir}`);
let output: RunOutput | undefined;
let reference: ReferenceResult | undefined;
let failure: unknown;
try {
  if (options.reference) {
    reference = await runReference(options.databaseUrl!, progress);
    progress(`reference: ${reference.ordersPerSecond.toFixed(0)} orders/s`);
  }
  system = await startSystem(options, workDir, options.bus === "redis" ? { REDIS_PREFIX: redisPrefix } : {});
  progress(`system ready (orders ${system.ordersUrl}, payments ${system.paymentsUrl})`);
  if (options.warmupSeconds > 0) await warmUp(system, options, progress, (opened) => (warmupWatchers = opened));
  output = await measuredRun(system, options, progress, (opened) => (watchers = opened));
} catch (error) {
  failure = error;
}
const stopNotes = await cleanup();
const findings = logFindings(system?.logFiles ?? []);

if (output) {
  console.log(output.lines.join("\n"));
  for (const line of formatCpu(output.summary, output.usage, reference)) console.log(line);
  for (const note of stopNotes) console.log(`stop        ${note}`);
  if (findings.length > 0) console.log(`logs        ${findings.slice(0, 10).join("\n            ")}`);
  console.log(jsonLine(options, output.summary, output.usage, reference, output.scenario));
} else {
  console.error(`bench failed: ${failure instanceof Error ? failure.message : String(failure)}`);
  for (const note of stopNotes) console.error(note);
  if (system) for (const file of system.logFiles) console.error(tail(file));
}
const clean = output !== undefined && output.summary.errors === 0 && stopNotes.length === 0 && findings.length === 0;
if (clean) await rm(workDir, { recursive: true, force: true });
else console.error(`bench: logs kept in ${workDir}`);
process.exit(output && output.summary.errors === 0 ? 0 : 1);
