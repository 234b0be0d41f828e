import { expect, test } from "bun:test";
import { amountSchema, toMajorUnits, toMinorUnits } from "./money";

test.each([
  [1000, 100_000],
  [10.25, 1_025],
  [0.01, 1],
  [0.1, 10],
  [19.99, 1_999],
  [1_000_000_000_000, 100_000_000_000_000],
])("%p is %p minor units and back", (amount, minor) => {
  expect(toMinorUnits(amount)).toBe(minor);
  expect(toMajorUnits(minor)).toBe(amount);
});

test.each([0, -1, 10.255, 0.001, 1e-7, 1_000_000_000_000.01, Number.NaN, Number.POSITIVE_INFINITY])(
  "%p is refused",
  (amount) => {
    expect(toMinorUnits(amount)).toBeUndefined();
    expect(amountSchema.safeParse(amount).success).toBe(false);
  },
);

test("the schema refuses strings and parses numbers to minor units", () => {
  expect(amountSchema.safeParse("10").success).toBe(false);
  expect(amountSchema.parse(12.5)).toBe(1_250);
});
