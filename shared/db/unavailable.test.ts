import { describe, expect, test } from "bun:test";
import { DatabaseUnavailableError, isDatabaseUnavailable } from "./unavailable";

const withCode = (code: string) => Object.assign(new Error(`write ${code} 127.0.0.1:5432`), { code });

describe("isDatabaseUnavailable", () => {
  test.each([
    ["postgres.js: connection closed", withCode("CONNECTION_CLOSED")],
    ["postgres.js: connection destroyed", withCode("CONNECTION_DESTROYED")],
    ["postgres.js: pool ended", withCode("CONNECTION_ENDED")],
    ["postgres.js: connect timeout", withCode("CONNECT_TIMEOUT")],
    ["socket: refused", withCode("ECONNREFUSED")],
    ["socket: reset", withCode("ECONNRESET")],
    ["server: shutting down (57P01)", withCode("57P01")],
    ["server: starting up (57P03)", withCode("57P03")],
    ["server: too many connections (53300)", withCode("53300")],
    ["server: connection failure (08006)", withCode("08006")],
    ["the pool: no connection in time", new DatabaseUnavailableError("no connection", "ACQUIRE_TIMEOUT")],
    ["wrapped as a cause", new Error("the transaction failed", { cause: withCode("CONNECTION_CLOSED") })],
  ])("%s → unavailable", (_name, error) => {
    expect(isDatabaseUnavailable(error)).toBe(true);
  });

  test.each([
    ["unique violation (23505)", withCode("23505")],
    ["check violation (23514)", withCode("23514")],
    ["bad text encoding (22021)", withCode("22021")],
    ["a plain bug", new TypeError("x is undefined")],
    ["not an error", "CONNECTION_CLOSED"],
    ["nothing", undefined],
  ])("%s → not unavailable", (_name, error) => {
    expect(isDatabaseUnavailable(error)).toBe(false);
  });
});
