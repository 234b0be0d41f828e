import { sql, type RawBuilder } from "kysely";

// The names of the CTEs by which the parts of one statement, written in different files, hand
// rows to each other. Both the part that defines a CTE and the parts that read it write its name
// through these constants, so a rename changes all of them or does not compile.

const cte = (name: string): RawBuilder<unknown> => sql.raw(name);

/**
 * A consumer's one statement (`consumerStatement` in ./inbox.ts, and the module's `BatchEffects`).
 * `fresh(message_id)`: the batch's message ids seen for the first time, defined by the statement,
 * read by the effects. `queued(id, topic, key, value, headers)`: the outbox rows the effects
 * write, defined by the effects, read by the statement.
 */
export const consumerCtes = { fresh: cte("fresh"), queued: cte("queued") } as const;

/**
 * The relay's claim statement (`claimStatement` in ./outbox-relay.ts, and a module's
 * `ClaimEffects`). `claimed`: the outbox rows claimed (all columns), defined by the statement,
 * read by the effects. `effect(value json)`: one row, defined by the effects, read by the
 * statement.
 */
export const claimCtes = { claimed: cte("claimed"), effect: cte("effect") } as const;
