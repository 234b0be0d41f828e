/**
 * `bun run split`: the two contexts as two processes over a shared bus (Redis by default):
 * orders on PORT (8080) and payments on PAYMENTS_PORT (8081). Each line of their output is
 * prefixed with the process's name. Ctrl-C (or SIGTERM) stops both; if either dies, the other is
 * stopped too and the script exits with the dead one's status.
 */
import { spawn } from "node:child_process";
import { createInterface } from "node:readline";
import type { Readable } from "node:stream";

const root = new URL("..", import.meta.url).pathname;
const ordersPort = process.env.PORT ?? "8080";
const paymentsPort = process.env.PAYMENTS_PORT ?? "8081";

// The status page (orders) offers the account panel when it knows where payments is and payments
// allows the page's origin; on fixed ports this script tells both, unless they are set already.
const fixedPorts = ordersPort !== "0" && paymentsPort !== "0";
const pageSettings = {
  orders: fixedPorts && !process.env.PAYMENTS_PUBLIC_URL ? { PAYMENTS_PUBLIC_URL: `http://localhost:${paymentsPort}` } : {},
  payments: fixedPorts && !process.env.CORS_ORIGINS ? { CORS_ORIGINS: `http://localhost:${ordersPort},http://127.0.0.1:${ordersPort}` } : {},
};

const children = [
  { name: "orders", env: { MODE: "orders", PORT: ordersPort, ...pageSettings.orders } },
  { name: "payments", env: { MODE: "payments", PORT: paymentsPort, ...pageSettings.payments } },
].map(({ name, env }) => {
  // Each child in a process group of its own: a terminal's Ctrl-C reaches only this script,
  // which then stops both children once (a second signal would make them skip the graceful stop).
  const child = spawn(process.execPath, ["main.ts"], { cwd: root, env: { ...process.env, ...env }, detached: true });
  prefixLines(child.stdout, `[${name}] `, process.stdout);
  prefixLines(child.stderr, `[${name}] `, process.stderr);
  const exited = new Promise<number>((resolve) => child.once("exit", (code, signal) => resolve(code ?? (signal ? 128 : 1))));
  return { name, child, exited };
});

let requested = false;
const stopAll = () => {
  // Once per child: a second signal makes main.ts give up its graceful stop.
  for (const { child } of children) if (!child.killed && child.exitCode === null) child.kill("SIGTERM");
};
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.on(signal, () => {
    requested = true;
    stopAll();
  });
}

const first = await Promise.race(children.map(({ name, exited }) => exited.then((code) => ({ name, code }))));
if (!requested) console.error(`[split] ${first.name} exited with status ${first.code}; stopping the other`);
stopAll();
const codes = await Promise.all(children.map(({ exited }) => exited));
// Asked to stop: success when both stopped cleanly. One died on its own: that is a failure.
process.exit(requested ? (codes.every((code) => code === 0) ? 0 : 1) : first.code || 1);

function prefixLines(stream: Readable, prefix: string, out: NodeJS.WriteStream) {
  createInterface({ input: stream }).on("line", (line) => out.write(`${prefix}${line}\n`));
}
