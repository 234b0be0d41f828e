-- orders.may_move(from, to): every allowed move of an order's status, the graph of
-- domain/order-status.ts written out in SQL (status-graph.int.test.ts checks that the two agree on
-- every pair). advance_statuses moves an order only along such an edge. A plain SQL expression,
-- inlined into the UPDATE by the planner.
create or replace function orders.may_move(from_status text, to_status text) returns boolean
language sql immutable parallel safe
as $$
  select (from_status, to_status) in (
    ('Created', 'PaymentPending'), ('Created', 'PaymentCompleted'), ('Created', 'PaymentFailed'),
    ('Created', 'CancelRequested'),
    ('PaymentPending', 'PaymentCompleted'), ('PaymentPending', 'PaymentFailed'), ('PaymentPending', 'CancelRequested'),
    ('PaymentCompleted', 'RefundPending'),
    ('CancelRequested', 'Cancelled'), ('CancelRequested', 'Refunded'),
    ('RefundPending', 'Refunded'))
$$
