import { describe, expect, test } from "bun:test";
import { parseArguments } from "./args";
import { describeShape, jsonLine } from "./report";
import { summarizeRun } from "./stats";

const options = (...argv: string[]) => parseArguments(argv, {})!;
const summary = summarizeRun([{ sentAt: 0, respondedAt: 5, httpStatus: 201, orderId: "a", terminalAt: 20, terminalStatus: "PaymentCompleted" }]);

describe("the warm-up in the report", () => {
  test("without --warmup the shape is as before and the JSON line says warmupSeconds 0", () => {
    expect(describeShape(options())).toBe("mode=mono bus=memory db=pglite; 3000 orders from 50 users; closed loop, concurrency 64");
    expect(JSON.parse(jsonLine(options(), summary))).toMatchObject({ orders: 1, concurrency: 64, warmupSeconds: 0 });
  });

  test("with --warmup the shape mentions it and the JSON line carries its seconds", () => {
    const open = options("--rate", "300", "--duration", "10", "--warmup", "3");
    expect(describeShape(open)).toEndWith("open loop, 300 orders/s offered; after a 3 s warm-up (900 orders on separate accounts, not counted)");
    expect(describeShape(options("--warmup", "2"))).toEndWith("; after a 2 s warm-up (the same load on separate accounts, not counted)");
    const line = jsonLine(open, summary);
    expect(Object.keys(JSON.parse(line)).at(-1)).toBe("warmupSeconds");
    expect(JSON.parse(line)).toMatchObject({ orders: 1, rate: 300, warmupSeconds: 3 });
  });
});
