import { describe, expect, test } from "bun:test";
import { subjectOf } from "./dead-letter-subject";

const path = ["payload", "ref"];
const message = (payload: unknown) => JSON.stringify({ id: "x", payload });

describe("a dead letter's subject", () => {
  test.each([
    ["the text at the path", message({ ref: "order-1" }), "order-1"],
    ["an integer at the path, as text", message({ ref: 42 }), "42"],
    ["a message that is not JSON", "not json {", null],
    ["JSON that is not an object", "[1,2]", null],
    ["nothing at the path", message({ other: "x" }), null],
    ["no payload at all", JSON.stringify({ id: "x" }), null],
    ["an object at the path", message({ ref: { id: "x" } }), null],
    ["a list at the path", message({ ref: ["x"] }), null],
    ["a fraction", message({ ref: 1.5 }), null],
    ["an empty text", message({ ref: "" }), null],
    ["a text over 200 characters", message({ ref: "x".repeat(201) }), null],
    ["a text with NUL", message({ ref: "a\u0000b" }), null],
    ["a key inherited, not its own", message({}).replace('"payload":{}', '"payload":{"__proto__":{"ref":"x"}}'), null],
  ])("%s: %p", (_name, value, expected) => {
    expect(subjectOf(value, path)).toBe(expected);
  });

  test("a topic without a path has none", () => {
    expect(subjectOf(message({ ref: "order-1" }), undefined)).toBeNull();
    expect(subjectOf(message({ ref: "order-1" }), [])).toBeNull();
  });
});
