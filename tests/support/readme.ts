import { readFileSync } from "node:fs";
import { join } from "node:path";

const readmePath = join(import.meta.dir, "../../README.md");

/**
 * The first ```sh block under the README heading that starts with `heading`, exactly as written
 * (tests run the README's own commands, so the README cannot drift from the code).
 */
export function readmeShellBlock(heading: string): string {
  const readme = readFileSync(readmePath, "utf8");
  const section = readme.indexOf(`\n## ${heading}`);
  if (section < 0) throw new Error(`README.md has no "## ${heading}" section`);
  const start = readme.indexOf("```sh\n", section);
  const nextSection = readme.indexOf("\n## ", section + 1);
  if (start < 0 || (nextSection >= 0 && start > nextSection)) throw new Error(`README.md's "${heading}" section has no sh block`);
  const end = readme.indexOf("\n```", start + 6);
  return readme.slice(start + 6, end + 1);
}
