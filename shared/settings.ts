import { z } from "zod";
import { durationSetting } from "./duration";

/**
 * Parsers for environment variables, shared by `shared/config.ts` and each module's own settings
 * (`modules/<name>/<name>.settings.ts`): a string in, a typed value out, and on a bad value an
 * issue whose message says what the variable accepts (it becomes the one-line configuration error).
 */

/** One of `values`, case-insensitively. */
export const oneOf = <const T extends readonly [string, ...string[]]>(values: T) =>
  z.preprocess(
    (value) => (typeof value === "string" ? value.toLowerCase() : value),
    z.enum(values, { error: `expected one of ${values.join(", ")}` }),
  );

/** A URL whose scheme is one of `protocols` (`"https:"`); `what` names the kind in the message. */
export const urlWith = (protocols: string[], what: string) =>
  z.string().refine(
    (value) => URL.canParse(value) && protocols.includes(new URL(value).protocol),
    `expected a ${what} URL (${protocols.map((protocol) => `${protocol}//…`).join(" or ")})`,
  );

/** A web URL a browser is sent to, without its trailing slashes. */
export const publicUrl = urlWith(["http:", "https:"], "web").transform((value) => value.replace(/\/+$/, ""));

const countMessage = "expected a whole number from 1 to 1000000";
/** A whole number from 1 to 1 000 000 (a queue's length, a number of connections). */
export const count = z
  .string()
  .regex(/^\d{1,7}$/, countMessage)
  .transform(Number)
  .refine((value) => value >= 1 && value <= 1_000_000, countMessage);

/** How long a request admitted under load may wait in a queue: a duration up to a minute. */
export const queueWait = durationSetting.refine((ms) => ms <= 60_000, "expected at most 60s (a request admitted under load may wait this long)");
