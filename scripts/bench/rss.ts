/**
 * Resident memory of the Gozon processes over a run, read from Linux's /proc/<pid>/status: samples
 * taken at a fixed interval, and the arithmetic the scenarios report from them. The parser and the
 * figures are pure; `RssSampler` reads the files.
 */
import { readFileSync } from "node:fs";

const kibPerMib = 1024;

/** VmRSS (resident now) and VmHWM (the most it has been resident since it started), in KiB. */
export interface ProcessMemory {
  rssKib: number;
  peakKib: number;
}

/** Parses /proc/<pid>/status; throws when VmRSS or VmHWM is missing (a kernel thread, a zombie). */
export function parseProcStatus(text: string): ProcessMemory {
  const rss = /^VmRSS:\s+(\d+) kB$/m.exec(text);
  const peak = /^VmHWM:\s+(\d+) kB$/m.exec(text);
  if (!rss || !peak) throw new Error("/proc/<pid>/status has no VmRSS or VmHWM line");
  return { rssKib: Number(rss[1]), peakKib: Number(peak[1]) };
}

/** One reading of one process; `at` is performance.now(). */
export interface RssSample {
  at: number;
  name: string;
  pid: number;
  rssMib: number;
  /** VmHWM: the process's peak since it started, sampled or not. */
  peakMib: number;
}

/** Samples each named process every `intervalMs` from `start()` until `stop()`, which takes one last sample. */
export class RssSampler {
  readonly samples: RssSample[] = [];
  #timer: ReturnType<typeof setInterval> | undefined;

  constructor(
    /** The processes to read now (read at each sample: a restarted process has a new id). */
    private readonly processes: () => { name: string; pid: number }[],
    private readonly intervalMs: number,
  ) {}

  /** Takes a sample now and then one every interval. */
  start(): void {
    this.sample();
    this.#timer ??= setInterval(() => this.sample(), this.intervalMs);
  }

  /** Takes the last sample; does nothing when not started or already stopped. */
  stop(): void {
    if (this.#timer === undefined) return;
    clearInterval(this.#timer);
    this.#timer = undefined;
    this.sample();
  }

  /** Reads every process now; one that is not running (stopped on purpose, or gone) is skipped. */
  sample(): void {
    const at = performance.now();
    for (const { name, pid } of this.processes()) {
      let memory: ProcessMemory;
      try {
        memory = parseProcStatus(readFileSync(`/proc/${pid}/status`, "utf8"));
      } catch {
        continue;
      }
      this.samples.push({ at, name, pid, rssMib: memory.rssKib / kibPerMib, peakMib: memory.peakKib / kibPerMib });
    }
  }
}

/** True where RSS can be read (Linux with /proc). */
export function canSampleRss(): boolean {
  try {
    parseProcStatus(readFileSync("/proc/self/status", "utf8"));
    return true;
  } catch {
    return false;
  }
}

const names = (samples: readonly RssSample[]) => [...new Set(samples.map(({ name }) => name))];

/**
 * Per process: its RSS at the first sample at or after `start`, its peak up to the last sample
 * (VmHWM, which also covers the moments between samples, since the process started), and the
 * growth between the two.
 */
export function peakRss(samples: readonly RssSample[], start: number): Record<string, { startMib: number; peakMib: number; growthMib: number }> {
  const figures: Record<string, { startMib: number; peakMib: number; growthMib: number }> = {};
  for (const name of names(samples)) {
    const own = samples.filter((sample) => sample.name === name);
    const first = own.find((sample) => sample.at >= start) ?? own.at(-1)!;
    const peakMib = Math.max(...own.map((sample) => Math.max(sample.peakMib, sample.rssMib)));
    figures[name] = { startMib: first.rssMib, peakMib, growthMib: peakMib - first.rssMib };
  }
  return figures;
}

/** Least-squares slope of y over x; NaN for fewer than two distinct x. */
export function slope(points: readonly { x: number; y: number }[]): number {
  const n = points.length;
  if (n < 2) return Number.NaN;
  const meanX = points.reduce((sum, { x }) => sum + x, 0) / n;
  const meanY = points.reduce((sum, { y }) => sum + y, 0) / n;
  const sxx = points.reduce((sum, { x }) => sum + (x - meanX) ** 2, 0);
  const sxy = points.reduce((sum, { x, y }) => sum + (x - meanX) * (y - meanY), 0);
  return sxx > 0 ? sxy / sxx : Number.NaN;
}

export interface SoakRss {
  /** RSS at the sample nearest the end of minute 1 (60 s after `start`). */
  minuteOneMib: number;
  /** RSS at the last sample. */
  endMib: number;
  growthMib: number;
  /** MiB per minute, least squares over the samples from the minute-1 one on; NaN when they span less than `minSlopeSpanMs`. */
  slopeMibPerMinute: number;
}

/**
 * The least time the samples after minute 1 must span for a slope: over less, the collector's
 * saw-tooth (tens of MiB up and down within seconds) outweighs any trend.
 */
export const minSlopeSpanMs = 60_000;

/** Per process: how its RSS went after the first minute of a soak that began at `start`. */
export function soakRss(samples: readonly RssSample[], start: number): Record<string, SoakRss> {
  const figures: Record<string, SoakRss> = {};
  for (const name of names(samples)) {
    const own = samples.filter((sample) => sample.name === name && sample.at >= start);
    if (own.length === 0) continue;
    const minuteOne = own.reduce((best, sample) => (Math.abs(sample.at - start - 60_000) < Math.abs(best.at - start - 60_000) ? sample : best));
    const after = own.filter((sample) => sample.at >= minuteOne.at);
    const end = own.at(-1)!;
    figures[name] = {
      minuteOneMib: minuteOne.rssMib,
      endMib: end.rssMib,
      growthMib: end.rssMib - minuteOne.rssMib,
      slopeMibPerMinute: end.at - minuteOne.at >= minSlopeSpanMs ? slope(after.map((sample) => ({ x: (sample.at - start) / 60_000, y: sample.rssMib }))) : Number.NaN,
    };
  }
  return figures;
}

/** One process's RSS over three phases: at `from`, its peak in [from, until], and its last sample. */
export function rssAround(samples: readonly RssSample[], name: string, from: number, until: number): { beforeMib: number; peakDuringMib: number; afterMib: number } {
  const own = samples.filter((sample) => sample.name === name);
  const before = [...own].reverse().find((sample) => sample.at <= from) ?? own[0];
  const during = own.filter((sample) => sample.at >= from && sample.at <= until).map((sample) => sample.rssMib);
  return {
    beforeMib: before?.rssMib ?? Number.NaN,
    peakDuringMib: during.length > 0 ? Math.max(...during) : Number.NaN,
    afterMib: own.at(-1)?.rssMib ?? Number.NaN,
  };
}
