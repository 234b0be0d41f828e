import { describe, expect, test } from "bun:test";
import { durationSetting, formatDuration, parseDuration } from "./duration";

describe("durations", () => {
  test.each([
    ["30s", 30_000],
    ["15m", 900_000],
    ["24h", 86_400_000],
    ["7d", 604_800_000],
    ["500ms", 500],
    [" 2h ", 7_200_000],
  ])("%p is %p ms", (text, ms) => expect(parseDuration(text)).toBe(ms));

  test.each(["", "0s", "10", "1.5h", "-1s", "1h30m", "7 d", "7D", "forever", "1w", "9999999999d"])("%p is refused", (text) =>
    expect(parseDuration(text)).toBeUndefined(),
  );

  test("the setting says what it accepts", () => {
    expect(durationSetting.parse("15m")).toBe(900_000);
    const result = durationSetting.safeParse("soon");
    expect(result.success).toBe(false);
    expect(result.error?.issues[0]?.message).toContain("30s, 15m, 24h or 7d");
  });

  test.each([
    [30_000, "30s"],
    [90_000, "90s"],
    [3_600_000, "1h"],
    [604_800_000, "7d"],
    [1_500, "1500ms"],
  ])("%p ms reads %p", (ms, text) => expect(formatDuration(ms)).toBe(text));
});
