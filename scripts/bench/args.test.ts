import { describe, expect, test } from "bun:test";
import { ArgumentError, outageStartSeconds, outageTimeoutSeconds, parseArguments, usage } from "./args";

const parse = (...argv: string[]) => parseArguments(argv, {});

describe("parseArguments", () => {
  test("defaults: mono, memory bus, PGlite, 3000 orders, closed loop at 64, no warm-up", () => {
    expect(parse()).toEqual({
      mode: "mono",
      bus: "memory",
      db: "pglite",
      orders: 3000,
      load: { kind: "closed", concurrency: 64 },
      users: 50,
      port: undefined,
      timeoutSeconds: 30,
      warmupSeconds: 0,
      databaseUrl: undefined,
      reference: false,
      cpuProfileDir: undefined,
      scenario: { kind: "plain" },
    });
  });

  test("--help returns undefined; the usage text documents --warmup", () => {
    expect(parse("--help")).toBeUndefined();
    expect(usage).toContain("--warmup S");
    expect(usage).toMatch(/excluded\s+from every figure/);
  });

  test("--rate with --duration is an open loop of R × S orders", () => {
    expect(parse("--rate", "300", "--duration", "10")).toMatchObject({ orders: 3000, load: { kind: "open", rate: 300 } });
  });

  test.each([
    [["--warmup", "3"], 3],
    [["--warmup=2"], 2],
    [["--warmup", "0.5"], 0.5],
    [["--warmup", "0"], 0],
  ])("%p gives warmupSeconds %p", (argv, expected) => {
    expect(parse(...argv)?.warmupSeconds).toBe(expected);
  });

  test("--warmup goes with either loop", () => {
    expect(parse("--rate", "300", "--duration", "10", "--warmup", "3")).toMatchObject({ warmupSeconds: 3, load: { kind: "open" } });
    expect(parse("--concurrency", "8", "--warmup", "2")).toMatchObject({ warmupSeconds: 2, load: { kind: "closed", concurrency: 8 } });
  });

  test.each([
    [["--warmup", "-1"], '--warmup "-1": expected a number of seconds ≥ 0'],
    [["--warmup=-1"], '--warmup "-1": expected a number of seconds ≥ 0'],
    [["--warmup", "abc"], '--warmup "abc": expected a number of seconds ≥ 0'],
    [["--warmup", "Infinity"], '--warmup "Infinity": expected a number of seconds ≥ 0'],
    [["--warmup", " "], '--warmup " ": expected a number of seconds ≥ 0'],
    [["--warmup"], "--warmup needs a value"],
    [["--warmup", "1", "--warmup", "2"], "--warmup given twice"],
    [["--rate", "0"], '--rate "0": expected a number > 0'],
    [["--concurrency", "10", "--rate", "5"], "give --concurrency (closed loop) or --rate (open loop), not both"],
    [["--warm-up", "3"], 'unknown argument "--warm-up" (see --help)'],
    [["--reference=yes"], "--reference takes no value"],
    [["--reference"], "--reference needs DATABASE_URL (the PostgreSQL server to run pgbench against)"],
  ])("%p is an ArgumentError with a one-line message", (argv, message) => {
    let caught: unknown;
    try {
      parse(...argv);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(ArgumentError);
    expect((caught as Error).message).toBe(message);
    expect((caught as Error).message).not.toContain("\n");
  });

  test("--db postgres needs DATABASE_URL", () => {
    expect(() => parse("--db", "postgres")).toThrow(ArgumentError);
    expect(parseArguments(["--db", "postgres"], { DATABASE_URL: "postgres://x/y" })?.databaseUrl).toBe("postgres://x/y");
  });

  test("--reference is a switch that needs DATABASE_URL, with any --db", () => {
    const env = { DATABASE_URL: "postgres://x/y" };
    expect(parseArguments(["--reference", "--rate", "300", "--duration", "5"], env)).toMatchObject({ reference: true, orders: 1500 });
    expect(parseArguments(["--rate", "300", "--reference", "--duration", "5"], env)).toMatchObject({ reference: true, db: "pglite" });
    expect(parseArguments([], env)?.reference).toBe(false);
    expect(() => parseArguments(["--reference", "--reference"], env)).toThrow("--reference given twice");
    expect(parse("--cpu-prof", "/tmp/profiles")?.cpuProfileDir).toBe("/tmp/profiles");
  });

  test("--overload is a switch on an open loop; a refusal is then expected", () => {
    expect(parse("--rate", "6000", "--duration", "15", "--overload")).toMatchObject({ orders: 90_000, load: { kind: "open", rate: 6000 }, scenario: { kind: "overload" }, timeoutSeconds: 30 });
    expect(parse("--rate", "6000", "--overload", "--warmup", "5")).toMatchObject({ scenario: { kind: "overload" }, warmupSeconds: 5 });
  });

  test("--soak MINUTES sets the orders to R × 60 × MINUTES", () => {
    expect(parse("--rate", "300", "--soak", "6")).toMatchObject({ orders: 108_000, scenario: { kind: "soak", minutes: 6 } });
    expect(parse("--rate", "100", "--soak=0.5")).toMatchObject({ orders: 3_000, scenario: { kind: "soak", minutes: 0.5 } });
  });

  test("--payments-outage S: payments stopped 15 s into the window, --timeout 60 unless given", () => {
    const outage = parse("--mode", "split", "--rate", "300", "--duration", "100", "--payments-outage", "60");
    expect(outage).toMatchObject({ mode: "split", bus: "redis", orders: 30_000, scenario: { kind: "payments-outage", startSeconds: outageStartSeconds, seconds: 60 }, timeoutSeconds: outageTimeoutSeconds });
    expect(outageStartSeconds).toBe(15);
    expect(parse("--mode", "split", "--rate", "100", "--duration", "40", "--payments-outage", "15", "--timeout", "90")?.timeoutSeconds).toBe(90);
    // Exactly long enough: 15 s before the outage, 25 s of it.
    expect(parse("--mode", "split", "--rate", "100", "--orders", "4000", "--payments-outage", "25")?.scenario).toEqual({ kind: "payments-outage", startSeconds: 15, seconds: 25 });
  });

  test("the usage text describes the three scenarios", () => {
    for (const flag of ["--overload", "--soak MINUTES", "--payments-outage S"]) expect(usage).toContain(flag);
  });

  test.each([
    [["--overload"], "--overload needs --rate"],
    [["--concurrency", "64", "--overload"], "--overload needs --rate"],
    [["--overload=yes", "--rate", "10"], "--overload takes no value"],
    [["--soak", "2"], "--soak needs --rate"],
    [["--rate", "10", "--soak", "0"], '--soak "0": expected a number > 0'],
    [["--rate", "10", "--soak", "2", "--duration", "5"], "--soak sets the run's length: give no --duration or --orders"],
    [["--rate", "10", "--soak", "2", "--orders", "5"], "--soak sets the run's length: give no --duration or --orders"],
    [["--rate", "10", "--soak", "2", "--overload"], "give one of --overload, --soak, --payments-outage, not --overload and --soak"],
    [["--rate", "100", "--duration", "60", "--payments-outage", "15"], "--payments-outage needs --mode split (payments is stopped while orders keeps running)"],
    [["--mode", "split", "--payments-outage", "15"], "--payments-outage needs --rate"],
    [["--mode", "split", "--rate", "100", "--duration", "30", "--payments-outage", "-5"], '--payments-outage "-5": expected a number > 0'],
    [
      ["--mode", "split", "--rate", "100", "--duration", "39.5", "--payments-outage", "25"],
      "--payments-outage 25: the send window (39.5 s) must last at least 15 + 25 s, so that orders are sent all through the outage",
    ],
  ])("%p is an ArgumentError with a one-line message", (argv, message) => {
    expect(() => parse(...argv)).toThrow(ArgumentError);
    expect(() => parse(...argv)).toThrow(new Error(message));
  });
});
