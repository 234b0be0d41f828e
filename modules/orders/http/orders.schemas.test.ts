import { expect, test } from "bun:test";
import { randomUUID } from "node:crypto";
import { createOrderBody, maxDescriptionBytes, maxDescriptionLength } from "./orders.schemas";

const order = (description: string) => createOrderBody.safeParse({ userId: randomUUID(), amount: 1, description });
const messages = (description: string) => order(description).error?.issues.map((issue) => issue.message) ?? [];

test("a description is bounded by characters and by UTF-8 bytes, and the answer says which", () => {
  expect(order("x".repeat(maxDescriptionLength)).success).toBe(true);
  // "☕" is one character and three bytes: 666 of them and two letters are exactly the byte limit.
  expect(order(`${"☕".repeat(666)}ab`).success).toBe(true);
  expect(Buffer.byteLength(`${"☕".repeat(666)}ab`)).toBe(maxDescriptionBytes);
  expect(messages(`${"☕".repeat(666)}abc`)).toEqual([`must be at most ${maxDescriptionBytes} bytes in UTF-8 (emoji and many scripts take 3 or 4 bytes a character)`]);
  // A thousand of them are within the characters, far over the bytes.
  expect(messages("☕".repeat(1_000))).toHaveLength(1);
  expect(messages("x".repeat(maxDescriptionLength + 1))).toHaveLength(1);
});
