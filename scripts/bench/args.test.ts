import { describe, expect, test } from "bun:test";
import { ArgumentError, parseArguments, usage } from "./args";

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
});
