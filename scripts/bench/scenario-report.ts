/** What `--overload`, `--soak` and `--payments-outage` add to the summary lines and to the JSON line. */
import type { LivenessSummary } from "./liveness";
import type { OutageFigures, OutageTimes } from "./outage";
import type { SoakRss } from "./rss";
import type { Distribution, RunSummary } from "./stats";

/** What a scenario measured beyond the run's records; RSS figures are undefined where /proc cannot be read. */
export type ScenarioResult =
  | { kind: "plain" }
  | {
      kind: "overload";
      liveness: LivenessSummary;
      liveTimeoutMs: number;
      /** Per Gozon process: RSS at the first send, peak over the run (since the process started), growth. */
      rss: Record<string, { startMib: number; peakMib: number; growthMib: number }> | undefined;
      /** The most orders the client had sent and not yet seen answered at one time. */
      maxInFlight: number;
      /** The client's connections: the most it may hold, and how many it opened over the run (each kept and reused). */
      connections: { limit: number; opened: number };
    }
  | { kind: "soak"; minutes: number; rss: Record<string, SoakRss> | undefined; p99ByMinute: number[] }
  | {
      kind: "payments-outage";
      startSeconds: number;
      seconds: number;
      times: OutageTimes;
      figures: OutageFigures;
      timeoutSeconds: number;
      ordersRss: { beforeMib: number; peakDuringMib: number; afterMib: number } | undefined;
    };

const round = (value: number | undefined, digits = 1) => (value !== undefined && Number.isFinite(value) ? Number(value.toFixed(digits)) : null);
const ms = (value: number | undefined) => `${round(value)} ms`;
const mib = (value: number | undefined) => `${round(value)} MiB`;
const threeFigures = (distribution: Distribution | undefined) =>
  distribution ? `p50 ${ms(distribution.p50)}, p99 ${ms(distribution.p99)}, max ${ms(distribution.max)}` : "(none)";
const settledLine = (summary: RunSummary) =>
  summary.stuck === 0
    ? `settled     every accepted order (${summary.accepted}) reached a terminal status`
    : `settled     NO: ${summary.stuck} of ${summary.accepted} accepted orders have no terminal status within --timeout`;

/** The last minute's p99 over the first's (NaN when either is missing). */
export const lastToFirstP99 = (p99ByMinute: readonly number[]) => (p99ByMinute.at(-1) ?? Number.NaN) / (p99ByMinute[0] ?? Number.NaN);

export function scenarioLines(summary: RunSummary, result: ScenarioResult): string[] {
  switch (result.kind) {
    case "plain":
      return [];
    case "overload": {
      const { liveness } = result;
      const failed = Object.entries(liveness.failed).map(([kind, count]) => `${count} × ${kind}`);
      return [
        `overload    over the ${round(summary.sendWindowMs / 1000, 2)} s send window: accepted ${round(summary.acceptedPerSecondOfWindow)}/s (${summary.accepted}), ` +
          `refused ${round(summary.refusedPerSecondOfWindow)}/s (${summary.refused}, 503 with Retry-After)`,
        `            answer time: accepted ${threeFigures(summary.http)}; refused ${threeFigures(summary.refusedHttp)}`,
        `            /health/live every 100 ms: p99 ${ms(liveness.answerMs?.p99)}, max ${ms(liveness.answerMs?.max)} over ${liveness.probes} probes ` +
          `(${liveness.timeouts} timed out, counted as ${result.liveTimeoutMs} ms${failed.length > 0 ? `; failed: ${failed.join(", ")}` : ""})`,
        `            client: up to ${result.maxInFlight} orders in flight on ${result.connections.opened} connections opened and kept ` +
          `(at most ${result.connections.limit}; past that an order waits in the client, and its wait counts in its answer time)`,
        ...rssLines(result.rss),
        settledLine(summary),
      ];
    }
    case "soak": {
      const lines = Object.entries(result.rss ?? {}).map(
        ([name, figures]) =>
          `memory      ${name}: RSS ${mib(figures.minuteOneMib)} after minute 1, ${mib(figures.endMib)} at the end (${signed(figures.growthMib)} MiB); ` +
          (Number.isNaN(figures.slopeMibPerMinute) ? "no slope (less than a minute of samples after minute 1)" : `slope after minute 1 ${round(figures.slopeMibPerMinute, 2)} MiB/min`),
      );
      if (!result.rss) lines.push("memory      not measured (no /proc on this system)");
      return [
        `soak        ${result.minutes} min; accepted p99 by minute: ${result.p99ByMinute.map((value) => round(value) ?? "–").join(", ")} ms; ` +
          `last ÷ first ${round(lastToFirstP99(result.p99ByMinute), 2)}`,
        ...lines,
        settledLine(summary),
      ];
    }
    case "payments-outage": {
      const { figures, times, ordersRss } = result;
      const settle = figures.settledAfterRestartMs;
      return [
        `outage      payments stopped ${result.startSeconds} s into the send window for ${result.seconds} s (exited in ${ms(times.stoppedAt - times.stopAt)}, ` +
          `ready ${ms(times.readyAt - times.restartAt)} after its restart)`,
        `            sent while it was down: ${figures.sentDuring}; accepted ${figures.acceptedDuring}, refused ${figures.refusedDuring}, failed ${figures.failedDuring}`,
        ordersRss
          ? `            orders RSS: ${mib(ordersRss.beforeMib)} before, peak ${mib(ordersRss.peakDuringMib)} during, ${mib(ordersRss.afterMib)} at the end`
          : "            orders RSS: not measured (no /proc on this system)",
        settle === undefined
          ? `            NOT settled: ${summary.stuck} accepted orders have no terminal status`
          : `            every accepted order terminal ${round(settle / 1000, 2)} s after payments was ready again ` +
            `(${settle <= result.timeoutSeconds * 1000 ? "within" : "BEYOND"} --timeout ${result.timeoutSeconds} s)`,
      ];
    }
  }
}

function rssLines(rss: Record<string, { startMib: number; peakMib: number; growthMib: number }> | undefined): string[] {
  if (!rss) return ["memory      not measured (no /proc on this system)"];
  return Object.entries(rss).map(
    ([name, figures], index) => `${index === 0 ? "memory     " : "           "} ${name}: peak RSS ${mib(figures.peakMib)} (${mib(figures.startMib)} at the first send, ${signed(figures.growthMib)} MiB)`,
  );
}

const signed = (value: number) => `${value >= 0 ? "+" : ""}${round(value)}`;

const roundEach = <K extends string>(figures: Record<string, Record<K, number>> | undefined) =>
  figures && Object.fromEntries(Object.entries(figures).map(([name, values]) => [name, Object.fromEntries(Object.entries<number>(values).map(([key, value]) => [key, round(value)]))]));

/** The scenario's fields for the JSON line: one object named after it (none for a plain run). */
export function scenarioJson(summary: RunSummary, result: ScenarioResult): Record<string, unknown> {
  switch (result.kind) {
    case "plain":
      return {};
    case "overload":
      return {
        overload: {
          acceptedPerSecond: round(summary.acceptedPerSecondOfWindow),
          refusedPerSecond: round(summary.refusedPerSecondOfWindow),
          sendWindowSeconds: round(summary.sendWindowMs / 1000, 2),
          accepted: summary.accepted,
          refused: summary.refused,
          acceptedP50Ms: round(summary.http?.p50),
          acceptedP99Ms: round(summary.http?.p99),
          acceptedMaxMs: round(summary.http?.max),
          refusedP50Ms: round(summary.refusedHttp?.p50),
          refusedP99Ms: round(summary.refusedHttp?.p99),
          refusedMaxMs: round(summary.refusedHttp?.max),
          liveP99Ms: round(result.liveness.answerMs?.p99),
          liveMaxMs: round(result.liveness.answerMs?.max),
          liveProbes: result.liveness.probes,
          liveTimeouts: result.liveness.timeouts,
          liveFailed: Object.values(result.liveness.failed).reduce((total, count) => total + count, 0),
          rssMiB: roundEach(result.rss) ?? null,
          maxInFlight: result.maxInFlight,
          connectionsOpened: result.connections.opened,
          settled: summary.stuck === 0,
          stuck: summary.stuck,
        },
      };
    case "soak":
      return {
        soak: {
          minutes: result.minutes,
          rssMiB: roundEach(result.rss as Record<string, Record<keyof SoakRss, number>> | undefined) ?? null,
          p99ByMinuteMs: result.p99ByMinute.map((value) => round(value)),
          p99LastToFirst: round(lastToFirstP99(result.p99ByMinute), 3),
          settled: summary.stuck === 0,
          stuck: summary.stuck,
        },
      };
    case "payments-outage":
      return {
        paymentsOutage: {
          startSeconds: result.startSeconds,
          seconds: result.seconds,
          sentDuring: result.figures.sentDuring,
          acceptedDuring: result.figures.acceptedDuring,
          refusedDuring: result.figures.refusedDuring,
          failedDuring: result.figures.failedDuring,
          ordersRssMiB: result.ordersRss ? { before: round(result.ordersRss.beforeMib), peakDuring: round(result.ordersRss.peakDuringMib), after: round(result.ordersRss.afterMib) } : null,
          settledAfterRestartSeconds: result.figures.settledAfterRestartMs === undefined ? null : round(result.figures.settledAfterRestartMs / 1000, 2),
          timeoutSeconds: result.timeoutSeconds,
          settled: summary.stuck === 0,
          stuck: summary.stuck,
        },
      };
  }
}
