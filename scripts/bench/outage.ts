/**
 * `--payments-outage S`: while orders keep coming, the payments process is stopped (SIGTERM) for S
 * seconds and started again. Orders must keep accepting meanwhile (they wait in the bus), and once
 * payments is back every accepted order must reach its terminal status.
 */
import type { RunningSystem } from "./system";
import { isRefusal, type OrderRecord } from "./stats";

/** When each step happened (performance.now()). */
export interface OutageTimes {
  /** SIGTERM sent to payments. */
  stopAt: number;
  /** Payments exited. */
  stoppedAt: number;
  /** Payments started again. */
  restartAt: number;
  /** Payments answered /health/ready again. */
  readyAt: number;
}

/** Stops payments `startSeconds` after `sendStart`, starts it again `seconds` after the stop, waits until it is ready. */
export async function runPaymentsOutage(
  system: Pick<RunningSystem, "stopProcess" | "startProcess">,
  sendStart: number,
  { startSeconds, seconds }: { startSeconds: number; seconds: number },
  progress: (line: string) => void,
): Promise<OutageTimes> {
  await Bun.sleep(Math.max(0, sendStart + startSeconds * 1000 - performance.now()));
  const stopAt = performance.now();
  progress(`payments outage: stopping payments (SIGTERM) for ${seconds} s`);
  await system.stopProcess("payments");
  const stoppedAt = performance.now();
  progress(`payments outage: payments exited after ${((stoppedAt - stopAt) / 1000).toFixed(1)} s`);
  await Bun.sleep(Math.max(0, stopAt + seconds * 1000 - performance.now()));
  const restartAt = performance.now();
  progress("payments outage: starting payments again");
  await system.startProcess("payments");
  const readyAt = performance.now();
  progress(`payments outage: payments ready again ${((readyAt - restartAt) / 1000).toFixed(1)} s after its start`);
  return { stopAt, stoppedAt, restartAt, readyAt };
}

export interface OutageFigures {
  /** Orders sent while payments was down (from the SIGTERM until it was ready again). */
  sentDuring: number;
  acceptedDuring: number;
  refusedDuring: number;
  /** Neither accepted nor refused: other answers, no answer. */
  failedDuring: number;
  /** From payments being ready again to the last terminal status of any accepted order; undefined while some are not terminal. */
  settledAfterRestartMs: number | undefined;
}

export function outageFigures(records: readonly OrderRecord[], times: OutageTimes): OutageFigures {
  const during = records.filter((record) => record.sentAt >= times.stopAt && record.sentAt < times.readyAt);
  const accepted = records.filter((record) => record.orderId !== undefined);
  const settled = accepted.every((record) => record.terminalAt !== undefined);
  const lastTerminal = accepted.reduce((last, record) => Math.max(last, record.terminalAt ?? last), times.readyAt);
  const acceptedDuring = during.filter((record) => record.orderId !== undefined).length;
  const refusedDuring = during.filter(isRefusal).length;
  return {
    sentDuring: during.length,
    acceptedDuring,
    refusedDuring,
    failedDuring: during.length - acceptedDuring - refusedDuring,
    settledAfterRestartMs: settled ? lastTerminal - times.readyAt : undefined,
  };
}
