    with inbox_ids as (
      select m.id from json_array_elements_text($1::text::json) as m(id)
    ),
    fresh as (
      insert into "orders"."inbox" (message_id, topic)
      select i.id::uuid, $2::text from inbox_ids as i
      on conflict (message_id) do nothing
      returning message_id
    ),

    changes as (
      select c.id, c.status, c.failure_reason, c.headers
      from json_to_recordset($3::text::json)
        as c(message_id uuid, id uuid, status text, failure_reason text, headers jsonb)
      where c.message_id in (select message_id from fresh)
    ),
    moved as (
      select * from orders.advance_statuses((select coalesce(json_agg(changes), '[]'::json) from changes))
    ),
    updates as (
      select gen_random_uuid() as message_id, moved.*, changes.headers as trace_headers
      from moved join changes on changes.id = moved.id
    ),
    queued as (insert into "orders"."outbox" ("message_id", "topic", "key", "value", "headers", "delivery")
    select u.message_id, $4::text, u.user_id::text, json_build_object(
    'id', u.message_id, 'type', 'orders.order-updated'::text, 'key', u.user_id,
    'occurredAt', to_char(statement_timestamp() at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
    'version', 1, 'payload', json_strip_nulls(json_build_object(
    'id', "u"."id", 'userId', "u"."user_id",
    'amount', ("u"."amount"::numeric / 100)::float8,
    'description', "u"."description", 'status', "u"."status",
    'failureReason', "u"."failure_reason",
    'createdAt', to_char("u"."created_at" at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'), 'updatedAt', to_char("u"."updated_at" at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'))))::text, u.trace_headers, 'at-commit'::text
    from updates as u order by u.id
    returning "id", "topic", "key", "value", "headers", "delivery")
    select counted.fresh, counted.duplicates, queued."id", queued."topic", queued."key", queued."value", queued."headers", queued."delivery"
    from (
      select count(*)::int as fresh,
        -- Only when a message was already in the inbox (a redelivery, a replay; else null, and the
        -- subquery never runs): which ones, for the log.
        case when count(*) < (select count(*) from inbox_ids) then
          (select json_agg(i.id) from inbox_ids as i where i.id::uuid not in (select message_id from fresh))
        end as duplicates
      from fresh
    ) as counted left join queued on true
    order by queued.id
-- $1: slot "ids"
-- $2: constant "payment-processed"
-- $3: slot "batch"
-- $4: constant "orders.order-updated"
