    with inbox_ids as (
      select m.id from json_array_elements_text($1::text::json) as m(id)
    ),
    fresh as (
      insert into "payments"."inbox" (message_id, topic)
      select i.id::uuid, $2::text from inbox_ids as i
      on conflict (message_id) do nothing
      returning message_id
    ),

    batch as (
      select b.*, row_number() over (order by b.position) as n
      from rows from (json_to_recordset($3::text::json) as (message_id uuid, order_id uuid, user_id uuid, amount bigint, headers jsonb))
        with ordinality as b(message_id, order_id, user_id, amount, headers, position)
      where b.message_id in (select message_id from fresh)
    ),
    attempts as (
      -- debit_orders answers one row per item, in the items' order.
      select a.* from payments.debit_orders((
        select coalesce(json_agg(json_build_object('order_id', b.order_id, 'user_id', b.user_id, 'amount', b.amount) order by b.n), '[]'::json)
        from batch as b
      )) with ordinality as a(order_id, outcome, balance, n)
    ),
    results as (
      select gen_random_uuid() as message_id, b.n, b.order_id, b.user_id, a.outcome, a.balance, b.headers
      from batch as b join attempts as a on a.n = b.n
      where a.outcome not in ('cancelled')
    ),
    queued as (insert into "payments"."outbox" ("message_id", "topic", "key", "value", "headers", "delivery")
    select r.message_id, $4::text, r.user_id::text, json_build_object(
    'id', r.message_id, 'type', 'payment-processed'::text, 'key', r.user_id,
    'occurredAt', to_char(statement_timestamp() at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
    'version', 1, 'payload', json_strip_nulls(json_build_object(
            'orderId', r.order_id, 'userId', r.user_id,
            'status', case r.outcome when 'debited' then 'completed'::text when 'already_debited' then 'completed'::text when 'no_account' then 'failed'::text when 'insufficient_funds' then 'failed'::text else ('no decision for the debit outcome ' || r.outcome)::int::text end,
            'reason', case r.outcome when 'debited' then null::text when 'already_debited' then null::text when 'no_account' then 'account_not_found'::text when 'insufficient_funds' then 'insufficient_funds'::text else ('no decision for the debit outcome ' || r.outcome)::int::text end,
            'balance', case r.outcome when 'debited' then r.balance::text when 'already_debited' then r.balance::text when 'no_account' then null::text when 'insufficient_funds' then r.balance::text else ('no decision for the debit outcome ' || r.outcome)::int::text end::bigint)))::text, r.headers, 'at-commit'::text
    from results as r order by r.n
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
-- $2: constant "order-created"
-- $3: slot "batch"
-- $4: constant "payment-processed"
