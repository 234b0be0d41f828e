/**
 * `bun run dlq -- list [--topic T] [--subject S] | show ID | redrive ID | redrive-all [--topic T] | discard ID` over the
 * admin API of a running process, with `--url` (else GOZON_URL, else
 * http://127.0.0.1:8080), `--token` (else GOZON_TOKEN; with AUTH=jwt, a token with the admin role:
 * `bun run token -- --user <uuid> --admin`) and `--json`. A readable table on a terminal, JSON
 * when asked or when the output is not a terminal (scripts). Any problem: one line on stderr and a
 * non-zero exit (2 for a bad command line, 1 for the rest).
 */
import { DlqError, parseDlqArgs } from "./dlq/args";
import { runDlq } from "./dlq/client";

if (import.meta.main) {
  try {
    const invocation = parseDlqArgs(process.argv.slice(2), process.env, process.stdout.isTTY === true);
    console.log(await runDlq(invocation));
  } catch (error) {
    console.error(`dlq: ${error instanceof DlqError ? error.message : String(error).split("\n")[0]}`);
    process.exit(error instanceof DlqError ? error.exitCode : 1);
  }
}
