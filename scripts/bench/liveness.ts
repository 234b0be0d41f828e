/**
 * `/health/live` while the load runs (`--overload`): a probe every 100 ms, each on a connection of
 * its own (never one an order waits on, as a load balancer's health check would), whether or not
 * the previous one has been answered. A probe not answered within the timeout counts as the
 * timeout's value. The probes are sent by a process of their own: from the bench's, which handles
 * thousands of answers a second, they would measure its own event loop as much as the server.
 */
import { distribution, type Distribution } from "./stats";

export const liveProbeIntervalMs = 100;
export const liveProbeTimeoutMs = 3_000;

export interface LiveProbe {
  /** Answer time in ms; the timeout's value when it timed out. */
  ms: number;
  outcome: "ok" | "timeout" | "failed";
  /** For a failed probe: "HTTP 503", "network: …". */
  detail?: string;
}

export interface LivenessSummary {
  probes: number;
  timeouts: number;
  /** Answers other than 200, and probes that failed without one, by kind. */
  failed: Record<string, number>;
  /** Over every probe, timeouts counted as the timeout's value. */
  answerMs: Distribution | undefined;
}

export function summarizeLiveness(probes: readonly LiveProbe[]): LivenessSummary {
  const failed: Record<string, number> = {};
  for (const probe of probes) if (probe.outcome === "failed") failed[probe.detail ?? "?"] = (failed[probe.detail ?? "?"] ?? 0) + 1;
  return {
    probes: probes.length,
    timeouts: probes.filter((probe) => probe.outcome === "timeout").length,
    failed,
    answerMs: distribution(probes.map((probe) => probe.ms)),
  };
}

async function probe(url: string, timeoutMs: number): Promise<LiveProbe> {
  const sentAt = performance.now();
  try {
    // keepalive: false: a fresh connection, closed after the answer, so no probe reuses a
    // connection of the bench's pool or leaves one behind.
    const response = await fetch(url, { keepalive: false, signal: AbortSignal.timeout(timeoutMs) });
    await response.arrayBuffer();
    const ms = performance.now() - sentAt;
    return response.status === 200 ? { ms, outcome: "ok" } : { ms, outcome: "failed", detail: `HTTP ${response.status}` };
  } catch (error) {
    if (error instanceof DOMException && error.name === "TimeoutError") return { ms: timeoutMs, outcome: "timeout" };
    return { ms: performance.now() - sentAt, outcome: "failed", detail: `network: ${error instanceof Error ? error.message : String(error)}` };
  }
}

/** Probes `${baseUrl}/health/live` in this process until `stop()`, which resolves with every probe once all are answered or timed out. */
function probeHere(baseUrl: string, intervalMs: number, timeoutMs: number): { stop(): Promise<LiveProbe[]> } {
  const pending: Promise<LiveProbe>[] = [];
  const send = () => pending.push(probe(`${baseUrl}/health/live`, timeoutMs));
  send();
  const timer = setInterval(send, intervalMs);
  return {
    stop() {
      clearInterval(timer);
      return Promise.all(pending);
    },
  };
}

/**
 * Starts probing `${baseUrl}/health/live` now, from a child process (this file run as a script);
 * `stop()` stops sending and resolves with every probe once all are answered or timed out.
 */
export function probeLiveness(baseUrl: string, { intervalMs = liveProbeIntervalMs, timeoutMs = liveProbeTimeoutMs } = {}): { stop(): Promise<LiveProbe[]> } {
  const child = Bun.spawn([process.execPath, import.meta.path, baseUrl, String(intervalMs), String(timeoutMs)], { stdin: "pipe", stdout: "pipe", stderr: "inherit" });
  return {
    async stop() {
      // The child stops sending when its stdin closes, then prints every probe as one JSON array.
      void child.stdin.end();
      const [output] = await Promise.all([new Response(child.stdout).text(), child.exited]);
      if (child.exitCode !== 0) throw new Error(`the liveness prober exited with ${child.exitCode}`);
      return JSON.parse(output) as LiveProbe[];
    },
  };
}

if (import.meta.main) {
  const [baseUrl, intervalMs, timeoutMs] = process.argv.slice(2);
  const probing = probeHere(baseUrl!, Number(intervalMs), Number(timeoutMs));
  // Nothing is sent on stdin: it closing is the signal to stop.
  await Bun.stdin.text();
  process.stdout.write(JSON.stringify(await probing.stop()));
}
