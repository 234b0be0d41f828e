import { describe, expect, test } from "bun:test";
import { canSampleRss, minSlopeSpanMs, parseProcStatus, peakRss, rssAround, RssSampler, slope, soakRss, type RssSample } from "./rss";

const status = `Name:\tbun
State:\tS (sleeping)
Pid:\t4242
VmPeak:\t 9000000 kB
VmHWM:\t  307200 kB
VmRSS:\t  204800 kB
Threads:\t12
`;

describe("parseProcStatus", () => {
  test("reads VmRSS and VmHWM in KiB", () => {
    expect(parseProcStatus(status)).toEqual({ rssKib: 204_800, peakKib: 307_200 });
  });

  test("throws for a process without memory lines (a zombie)", () => {
    expect(() => parseProcStatus("Name:\tbun\nState:\tZ (zombie)\n")).toThrow("no VmRSS or VmHWM");
  });
});

describe("slope (least squares)", () => {
  test("of points on a line is the line's slope", () => {
    expect(slope([0, 1, 2, 3].map((x) => ({ x, y: 5 + 2 * x })))).toBeCloseTo(2);
  });

  test("of noisy points is the fitted slope", () => {
    // y = 1, 3, 2, 4 at x = 0..3: mean x 1.5, mean y 2.5, Sxy = 4, Sxx = 5.
    expect(slope([1, 3, 2, 4].map((y, x) => ({ x, y })))).toBeCloseTo(0.8);
  });

  test("is NaN with fewer than two distinct x", () => {
    expect(slope([{ x: 1, y: 1 }])).toBeNaN();
    expect(slope([{ x: 1, y: 1 }, { x: 1, y: 2 }])).toBeNaN();
  });
});

const sample = (at: number, rssMib: number, name = "mono", peakMib = rssMib): RssSample => ({ at, name, pid: 1, rssMib, peakMib });

describe("soakRss", () => {
  // Samples every 10 s from the start (t = 1000 ms): 100 MiB for the first minute, then +1 MiB
  // every 10 s (6 MiB/min) until 3 minutes.
  const start = 1_000;
  const samples = Array.from({ length: 19 }, (_, index) => sample(start + index * 10_000 + (index % 2) * 30, index <= 6 ? 100 + index * 3 : 118 + (index - 6)));

  test("RSS at the sample nearest minute 1, at the end, the growth and the slope after minute 1", () => {
    const figures = soakRss(samples, start).mono!;
    expect(figures.minuteOneMib).toBe(118);
    expect(figures.endMib).toBe(130);
    expect(figures.growthMib).toBe(12);
    expect(figures.slopeMibPerMinute).toBeCloseTo(6, 1);
  });

  test("the first minute's growth does not enter the slope", () => {
    const flat = samples.map((each, index) => (index > 6 ? { ...each, rssMib: 118 } : each));
    expect(soakRss(flat, start).mono!.slopeMibPerMinute).toBeCloseTo(0);
  });

  test("each process apart; samples before the start are ignored", () => {
    const two = [sample(0, 50, "orders"), sample(start, 60, "orders"), sample(start + 60_000, 70, "orders"), sample(start + 120_000, 72, "orders"), sample(start + 60_000, 30, "payments")];
    const figures = soakRss(two, start);
    expect(figures.orders).toMatchObject({ minuteOneMib: 70, endMib: 72, growthMib: 2 });
    expect(figures.orders!.slopeMibPerMinute).toBeCloseTo(2);
    expect(figures.payments).toMatchObject({ minuteOneMib: 30, endMib: 30, growthMib: 0 });
    expect(figures.payments!.slopeMibPerMinute).toBeNaN();
  });

  test("no slope from samples after minute 1 that span less than a minute (a 1-minute soak)", () => {
    // The end sample 20 ms after the minute-1 one, 0.5 MiB lower: as a slope, -1500 MiB/min.
    const short = [sample(start, 500), sample(start + 60_000, 572.2), sample(start + 60_020, 571.7)];
    const figures = soakRss(short, start).mono!;
    expect(figures.growthMib).toBeCloseTo(-0.5);
    expect(figures.slopeMibPerMinute).toBeNaN();
    expect(soakRss([...short, sample(start + 60_000 + minSlopeSpanMs, 575)], start).mono!.slopeMibPerMinute).toBeGreaterThan(0);
  });
});

describe("peakRss", () => {
  test("RSS at the first send, the peak (VmHWM covers what the samples missed), the growth", () => {
    const samples = [sample(0, 80), sample(500, 90), sample(1_500, 200, "mono", 260), sample(2_500, 150, "mono", 260)];
    expect(peakRss(samples, 400)).toEqual({ mono: { startMib: 90, peakMib: 260, growthMib: 170 } });
  });
});

describe("rssAround", () => {
  test("before: the last sample up to `from`; peak during [from, until]; after: the last sample", () => {
    const samples = [sample(0, 100, "orders"), sample(1_000, 110, "orders"), sample(2_000, 150, "orders"), sample(3_000, 140, "orders"), sample(4_000, 120, "orders"), sample(1_000, 999, "payments")];
    expect(rssAround(samples, "orders", 1_500, 3_000)).toEqual({ beforeMib: 110, peakDuringMib: 150, afterMib: 120 });
  });
});

describe("RssSampler on this machine", () => {
  test.skipIf(!canSampleRss())("reads this process, skips one that is not running, takes a last sample on stop", () => {
    const sampler = new RssSampler(() => [
      { name: "self", pid: process.pid },
      { name: "gone", pid: 2 ** 22 + 1 }, // above Linux's pid_max limit: never a process
    ], 60_000);
    sampler.start();
    sampler.stop();
    sampler.stop(); // already stopped: no further sample
    expect(sampler.samples.map((each) => each.name)).toEqual(["self", "self"]);
    expect(sampler.samples[0]!.rssMib).toBeGreaterThan(1);
    expect(sampler.samples[0]!.peakMib).toBeGreaterThanOrEqual(sampler.samples[0]!.rssMib);
  });
});
