import { expect, test } from "bun:test";
import { createLogger } from "./logger";

test("one JSON object per line: time, level, msg, the child's fields and the call's fields", () => {
  const lines: Record<string, unknown>[] = [];
  const logger = createLogger({ level: "info", write: (line) => lines.push(JSON.parse(line)) }).child({ module: "payments" });
  logger.debug("not shown");
  logger.info("debited", { messageId: "m-1", orderId: "o-1" });
  logger.error("failed", { error: new Error("boom", { cause: "disk" }) });
  expect(lines).toHaveLength(2);
  expect(lines[0]).toMatchObject({ level: "info", msg: "debited", module: "payments", messageId: "m-1", orderId: "o-1" });
  expect(Number.isNaN(Date.parse(String(lines[0]!.time)))).toBe(false);
  const error = lines[1]!.error as { message: string; stack: string };
  expect(error.message).toBe("boom");
  expect(error.stack).toContain("boom");
});
