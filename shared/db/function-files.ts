import { fileURLToPath } from "node:url";
import { sql } from "kysely";
import type { ModuleDb } from "./database";

/** One `.sql` file of a module's functions folder: its name and its text. */
export interface FunctionFile {
  name: string;
  text: string;
}

/**
 * The `*.sql` files of `directory` (a folder URL ending in `/`, e.g.
 * `new URL("./functions/", import.meta.url)`), in name order, read from disk at each call.
 */
export async function readFunctionFiles(directory: URL): Promise<FunctionFile[]> {
  if (!directory.pathname.endsWith("/")) throw new Error(`the functions folder URL must end with "/": ${directory.href}`);
  const names = [...new Bun.Glob("*.sql").scanSync({ cwd: fileURLToPath(directory) })].sort();
  return Promise.all(names.map(async (name) => ({ name, text: await Bun.file(new URL(name, directory)).text() })));
}

/**
 * Runs every function file of `directory`, in name order. Each file holds ONE statement, a
 * `create or replace function`, so running them again only replaces the bodies: they are the
 * current text of the module's functions, whatever older copies its migrations created.
 */
export async function applyFunctionFiles(db: ModuleDb, directory: URL): Promise<void> {
  for (const file of await readFunctionFiles(directory)) {
    try {
      await sql.raw(file.text).execute(db);
    } catch (error) {
      throw new Error(`function file "${file.name}" failed: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
    }
  }
}
