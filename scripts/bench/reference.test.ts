import { describe, expect, test } from "bun:test";
import { databaseUrl, parsePgbenchOutput } from "./reference";

describe("the pgbench reference", () => {
  test("reads the processed count and the tps without connection time", () => {
    const output = `pgbench (15.19 (Debian 15.19-0+deb12u1))
transaction type: bench/pgbench/order.sql
scaling factor: 1
query mode: simple
number of clients: 16
number of threads: 2
maximum number of tries: 1
duration: 15 s
number of transactions actually processed: 17549
number of failed transactions: 0 (0.000%)
latency average = 13.672 ms
initial connection time = 21.570 ms
tps = 1169.562083 (without initial connection time)
`;
    expect(parsePgbenchOutput(output)).toEqual({ orders: 17549, ordersPerSecond: 1169.562083 });
  });

  test("output without a result is an error that shows its end", () => {
    expect(() => parsePgbenchOutput("pgbench: error: connection to server failed\n")).toThrow("connection to server failed");
  });

  test("the scratch database lives on the same server, with the same user and options", () => {
    expect(databaseUrl("postgres://postgres@127.0.0.1:5432/gozon_bench?sslmode=disable", "gozon_reference_1")).toBe(
      "postgres://postgres@127.0.0.1:5432/gozon_reference_1?sslmode=disable",
    );
  });
});
