    with lock as materialized (select pg_try_advisory_xact_lock(hashtext($1)) as locked),
    claimed as (
      update "orders"."outbox" set published_at = now()
      where published_at is null and id in (
        select id from "orders"."outbox"
        where published_at is null and (select locked from lock)
          and (delivery = 'relay' or created_at < now() - $2::int * interval '1 millisecond')
        order by id limit $3
      )
      returning *
    ),
  pending as (
    select * from orders.advance_statuses((
      select coalesce(json_agg(json_build_object(
        'id', (c.value::json->'payload'->>'orderId')::uuid, 'status', 'PaymentPending', 'failure_reason', null
      ) order by c.id), '[]'::json)
      from claimed as c where c.topic = $4::text
    ))
  ),
  effect as (
    select coalesce(json_agg(json_strip_nulls(json_build_object(
    'id', "pending"."id", 'userId', "pending"."user_id",
    'amount', ("pending"."amount"::numeric / 100)::float8,
    'description', "pending"."description", 'status', "pending"."status",
    'failureReason', "pending"."failure_reason",
    'createdAt', to_char("pending"."created_at" at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'), 'updatedAt', to_char("pending"."updated_at" at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'))) order by pending.id), '[]'::json) as value from pending
  )
    select lock.locked, claimed.*,
      -- The effect once, on the first row: a round of 500 rows must not carry it 500 times.
      case when row_number() over () = 1 then (select value from effect) end as effect
    from lock left join claimed on true
-- $1: constant "gozon.outbox.orders"
-- $2: constant 2000
-- $3: constant 500
-- $4: constant "order-created"
