    with lock as materialized (select pg_try_advisory_xact_lock(hashtext($1)) as locked),
    claimed as (
      update "payments"."outbox" set published_at = now()
      where published_at is null and id in (
        select id from "payments"."outbox"
        where published_at is null and (select locked from lock)
          and (delivery = 'relay' or created_at < now() - $2::int * interval '1 millisecond')
        order by id limit $3
      )
      returning *
    )
    select lock.locked, claimed.*,
      -- The effect once, on the first row: a round of 500 rows must not carry it 500 times.
      null::json as effect
    from lock left join claimed on true
-- $1: constant "gozon.outbox.payments"
-- $2: constant 2000
-- $3: constant 500
