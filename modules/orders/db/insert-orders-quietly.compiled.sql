    with input as (
      select * from rows from (json_to_recordset($1::text::json) as (id uuid, user_id uuid, amount bigint, description text))
        with ordinality as i(id, user_id, amount, description, position)
    ),
    inserted as (
      insert into orders.orders (id, user_id, amount, description, status)
      select id, user_id, amount, description, 'Created' from input order by position
      returning *
    ),
    queued as (insert into "orders"."outbox" ("message_id", "topic", "key", "value", "headers", "delivery")
    select "m"."message_id", "m"."topic", "m"."key", "m"."value", "m"."headers", "m"."delivery"
    from rows from (json_to_recordset($2::text::json) as ("message_id" uuid, "topic" text, "key" text, "value" text, "headers" jsonb, "delivery" text)) with ordinality as m("message_id", "topic", "key", "value", "headers", "delivery", "position")
    order by m.position
    returning "id", "topic", "key", "value", "headers", "delivery")
    select inserted.*, json_strip_nulls(json_build_object(
    'id', "inserted"."id", 'userId', "inserted"."user_id",
    'amount', ("inserted"."amount"::numeric / 100)::float8,
    'description', "inserted"."description", 'status', "inserted"."status",
    'failureReason', "inserted"."failure_reason",
    'createdAt', to_char("inserted"."created_at" at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'), 'updatedAt', to_char("inserted"."updated_at" at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'))) as view from inserted
-- $1: slot "orders"
-- $2: slot "outbox"
