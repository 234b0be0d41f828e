import { describe, expect, test } from "bun:test";
import { ConfigError, loadConfig } from "../../shared/config";
import { paymentsModule } from "./index";

describe("the Payments settings", () => {
  test.each<[string, Record<string, string>, Record<string, string | null>]>([
    ["payments on this origin in mono", { MODE: "mono" }, { payments: "" }],
    ["payments on this origin when this process runs it, whatever the URL", { PAYMENTS_PUBLIC_URL: "http://localhost:8081" }, { payments: "" }],
  ])("%s", (_name, env, expected) => {
    expect(loadConfig(env, [paymentsModule]).publicUrls).toEqual(expected);
  });

  test("PAYMENTS_PUBLIC_URL is where a browser reaches payments, without its trailing slash", () => {
    expect(paymentsModule.settings.parse({ PAYMENTS_PUBLIC_URL: "https://pay.example/gozon/" })).toEqual({ publicUrl: "https://pay.example/gozon" });
    expect(paymentsModule.publicUrl?.(paymentsModule.settings.parse({ PAYMENTS_PUBLIC_URL: "https://pay.example/gozon/" }))).toBe("https://pay.example/gozon");
  });

  test("a process running payments alone listens on 8081 by default", () => {
    expect(loadConfig({ MODE: "payments" }, [paymentsModule]).port).toBe(8081);
  });

  test("a payments URL that is no URL is one line", () => {
    const action = () => loadConfig({ PAYMENTS_PUBLIC_URL: "localhost:8081" }, [paymentsModule]);
    expect(action).toThrow(ConfigError);
    expect(action).toThrow('Invalid configuration: PAYMENTS_PUBLIC_URL="localhost:8081" — expected a web URL');
  });
});
