/**
 * Where a consumed topic's messages say what they are about (their subject: an operator looks a
 * dead letter up by it), as the path of object keys into the message's JSON, e.g.
 * `["payload", "someId"]`. Given by the module that consumes the topic, at its door: the
 * dead-letter mechanism itself knows no message's shape.
 */
export type SubjectPath = readonly string[];

/** The longest subject kept; a longer value is not an id anyone looks up. */
export const maxSubjectLength = 200;

/**
 * The subject of a message: the text (or integer) at `path` in its JSON. Null when there is no
 * path, or the message is not JSON, or holds nothing there, or something else (an object, a
 * list, an empty or over-long text, one with NUL, which PostgreSQL text cannot hold).
 */
export function subjectOf(value: string, path: SubjectPath | undefined): string | null {
  if (!path || path.length === 0) return null;
  let json: unknown;
  try {
    json = JSON.parse(value);
  } catch {
    return null;
  }
  return subjectIn(json, path);
}

/** As `subjectOf`, for a message already parsed. */
export function subjectIn(json: unknown, path: SubjectPath | undefined): string | null {
  if (!path || path.length === 0) return null;
  let found: unknown = json;
  for (const key of path) {
    if (typeof found !== "object" || found === null || Array.isArray(found) || !Object.hasOwn(found, key)) return null;
    found = (found as Record<string, unknown>)[key];
  }
  const text = typeof found === "string" ? found : Number.isSafeInteger(found) ? String(found) : undefined;
  return text !== undefined && text.length > 0 && text.length <= maxSubjectLength && !text.includes("\u0000") ? text : null;
}
