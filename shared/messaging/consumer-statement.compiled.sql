    with inbox_ids as (
      select m.id from json_array_elements_text($1::text::json) as m(id)
    ),
    fresh as (
      insert into "module"."inbox" (message_id, topic)
      select i.id::uuid, $2::text from inbox_ids as i
      on conflict (message_id) do nothing
      returning message_id
    ),

    queued as (
      insert into module.outbox (message_id, topic, key, value, headers)
      select m.message_id, m.topic, m.key, m.value, null from json_to_recordset($3::text::json) as m(message_id uuid, topic text, key text, value text)
      where m.message_id in (select message_id from fresh)
      returning id, topic, key, value, headers
    )
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
-- $2: constant "a-topic"
-- $3: slot "batch"
