  select order_id, status, amount, balance from payments.refund_orders($1::text::json)
-- $1: slot "batch"
