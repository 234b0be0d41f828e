import { defaultQueueBounds } from "../config";
import type { ModulePorts } from "../module";
import { Admission } from "./admission";
import type { AdmissionGate } from "./admission-gate";

/**
 * API requests of one module that use its database at once. Half its pool of 10 connections: the
 * other half stays free for what keeps orders moving (the relay, the consumers, the order intake,
 * retention), so a flood of requests cannot starve them.
 */
export const requestConcurrency = 5;

/**
 * The gate in front of a module's database for its API requests (`<module>-requests` in the
 * metrics): `requestConcurrency` at once, the rest in a queue bounded by REQUEST_MAX_QUEUE and
 * REQUEST_MAX_WAIT; past those a request is refused with 503 before its body is read.
 */
export function requestGate(ports: Pick<ModulePorts, "admission" | "queueBounds">, module: string): AdmissionGate {
  const bounds = (ports.queueBounds ?? defaultQueueBounds).requests;
  return (ports.admission ?? new Admission()).gate(`${module}-requests`, { concurrency: requestConcurrency, ...bounds });
}
