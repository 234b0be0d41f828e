/**
 * The measured run: accounts and their WebSockets, the load, the wait for terminal statuses, and
 * what the scenario adds while it runs (liveness probes, RSS samples, the payments outage).
 */
import { randomUUID } from "node:crypto";
import type { BenchOptions } from "./args";
import { crossChecks } from "./checks";
import { openAccount, orderConnectionLimit, orderConnectionsOpened, TerminalTracker, watchUsers, type Watchers } from "./client";
import { canSampleCpu, classifyBy, measureCpu, type CpuUsage } from "./cpu";
import { liveProbeTimeoutMs, probeLiveness, summarizeLiveness, type LiveProbe } from "./liveness";
import { planUsers, sendOrders, userOutcomes, waitForTerminals, type UserPlan } from "./load";
import { outageFigures, runPaymentsOutage, type OutageTimes } from "./outage";
import { formatSummary } from "./report";
import { canSampleRss, peakRss, rssAround, RssSampler, soakRss } from "./rss";
import { scenarioLines, type ScenarioResult } from "./scenario-report";
import { acceptedP99ByMinute, summarizeRun, type OrderRecord, type RunSummary } from "./stats";
import type { RunningSystem } from "./system";

export interface RunOutput {
  lines: string[];
  summary: RunSummary;
  usage: CpuUsage | undefined;
  scenario: ScenarioResult;
}

/** RSS sampling interval: every 10 s over a soak of minutes, every second in the shorter scenarios. */
const rssIntervalMs = (options: BenchOptions) => (options.scenario.kind === "soak" ? 10_000 : 1_000);

export async function measuredRun(
  running: RunningSystem,
  options: BenchOptions,
  progress: (line: string) => void,
  onSockets: (watchers: Watchers) => void,
): Promise<RunOutput> {
  const { scenario } = options;
  const userIds = Array.from({ length: options.users }, () => randomUUID());
  const plans = planUsers(userIds, options.orders);
  await Promise.all(plans.map(({ userId, deposit }) => openAccount(running.paymentsUrl, userId, deposit)));
  const tracker = new TerminalTracker();
  const watchers = await watchUsers(running.ordersUrl, userIds, tracker);
  onSockets(watchers);
  progress(`${userIds.length} accounts created, ${userIds.length} WebSockets open; sending`);

  const counters = { sent: 0, answered: 0, maxInFlight: 0 };
  const ticker = setInterval(() => progress(`sent ${counters.sent}, answered ${counters.answered}, terminal ${tracker.terminalCount}`), 5_000);
  const rss = scenario.kind !== "plain" && canSampleRss() ? new RssSampler(() => running.processes(), rssIntervalMs(options)) : undefined;
  let sendStart = 0;
  let probes: LiveProbe[] = [];
  let outage: OutageTimes | undefined;
  // The measured window: from the first send to the last terminal status (or the timeout).
  const measured = async () => {
    sendStart = performance.now();
    rss?.start();
    const live = scenario.kind === "overload" ? probeLiveness(running.ordersUrl) : undefined;
    const sending = sendOrders(running.ordersUrl, userIds, { count: options.orders, label: "bench order" }, options.load, tracker, counters).then(async (load) => {
      probes = (await live?.stop()) ?? [];
      return load;
    });
    // Both at once: a failed restart fails the run now, not after the send window.
    const [load, times] = await Promise.all([sending, scenario.kind === "payments-outage" ? runPaymentsOutage(running, sendStart, scenario, progress) : undefined]);
    outage = times;
    progress(`all ${counters.sent} sent and answered; waiting for terminal statuses`);
    // From now: after the last answer, and after payments was ready again.
    await waitForTerminals(load.records, tracker, options.timeoutSeconds * 1000);
    rss?.stop();
    return load;
  };
  try {
    // PostgreSQL: only the backends of the bench's database (and the server's own processes).
    const databases = options.db === "postgres" && options.databaseUrl ? [new URL(options.databaseUrl).pathname.slice(1)] : undefined;
    const classify = classifyBy({ gozon: running.pids, client: [process.pid] }, databases);
    const { result: load, usage: cpu } = canSampleCpu() ? await measureCpu(classify, measured) : { result: await measured(), usage: undefined };
    tracker.complete(load.records);
    const updates = { ...tracker.updates }; // as of the end of the wait, like the records
    const summary = summarizeRun(load.records, { refusalsExpected: scenario.kind === "overload" });
    const expectedCompleted = userOutcomes(plans, load.records).reduce((total, outcome) => total + outcome.expectedCompleted, 0);
    const lines = formatSummary(options, summary, { expectedCompleted, maxSendLagMs: load.maxSendLagMs });
    const { ordersUrl, paymentsUrl } = running;
    lines.push(...(await crossChecks({ ordersUrl, paymentsUrl, plans, records: load.records, summary, updates, dropped: watchers.dropped })));
    const result = scenarioResult(options, { records: load.records, plans, sendStart, probes, outage, rss, maxInFlight: counters.maxInFlight });
    lines.push(...scenarioLines(summary, result));
    return { lines, summary, usage: cpu, scenario: result };
  } finally {
    clearInterval(ticker);
    rss?.stop();
  }
}

interface Observed {
  records: OrderRecord[];
  plans: UserPlan[];
  sendStart: number;
  probes: LiveProbe[];
  outage: OutageTimes | undefined;
  rss: RssSampler | undefined;
  maxInFlight: number;
}

function scenarioResult(options: BenchOptions, observed: Observed): ScenarioResult {
  const { scenario } = options;
  const samples = observed.rss?.samples;
  switch (scenario.kind) {
    case "plain":
      return scenario;
    case "overload":
      return {
        kind: "overload",
        liveness: summarizeLiveness(observed.probes),
        liveTimeoutMs: liveProbeTimeoutMs,
        rss: samples && peakRss(samples, observed.sendStart),
        maxInFlight: observed.maxInFlight,
        connections: { limit: orderConnectionLimit, opened: orderConnectionsOpened() },
      };
    case "soak":
      return { kind: "soak", minutes: scenario.minutes, rss: samples && soakRss(samples, observed.sendStart), p99ByMinute: acceptedP99ByMinute(observed.records, observed.sendStart) };
    case "payments-outage": {
      const times = observed.outage!;
      return {
        kind: "payments-outage",
        startSeconds: scenario.startSeconds,
        seconds: scenario.seconds,
        times,
        figures: outageFigures(observed.records, times),
        timeoutSeconds: options.timeoutSeconds,
        ordersRss: samples && rssAround(samples, "orders", times.stopAt, times.readyAt),
      };
    }
  }
}
