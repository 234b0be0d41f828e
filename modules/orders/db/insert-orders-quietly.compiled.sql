    with input as (
      select * from rows from (json_to_recordset($1::text::json) as (id uuid, user_id uuid, amount bigint, description text))
        with ordinality as i(id, user_id, amount, description, position)
    ),
    inserted as (
      insert into orders.orders (id, user_id, amount, description, status)
      select id, user_id, amount, description, 'Created' from input order by position
      returning *
    ),
    queued as (insert into "orders"."outbox" (message_id, topic, key, value, headers)
    select m.message_id, m.topic, m.key, m.value, m.headers
    from rows from (json_to_recordset($2::text::json) as (message_id uuid, topic text, key text, value text, headers jsonb))
      with ordinality as m(message_id, topic, key, value, headers, position)
    order by m.position
    returning id)
    select inserted.* from inserted
-- $1: slot "orders"
-- $2: slot "outbox"
