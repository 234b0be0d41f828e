    with lock as materialized (select pg_try_advisory_xact_lock(hashtext($1)) as locked),
    claimed as (
      update "module"."outbox" set published_at = now()
      where published_at is null and id in (
        select id from "module"."outbox"
        where published_at is null and (select locked from lock)
          and (topic <> all($2::text::text[])
               or created_at < now() - $3::int * interval '1 millisecond')
        order by id limit $4
      )
      returning *
    )
    select lock.locked, claimed.*,
      -- The effect once, on the first row: a round of 500 rows must not carry it 500 times.
      null::json as effect
    from lock left join claimed on true
-- $1: constant "gozon.outbox.module"
-- $2: constant "{\"published-at-commit\"}"
-- $3: constant 2000
-- $4: constant 500
