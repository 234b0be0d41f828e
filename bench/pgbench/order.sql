-- pgbench reference for BENCHMARKS.md: one order as naive per-order SQL, three transactions,
-- each statement its own round trip (see schema.sql for the tables and how to run it).
--   (a) Orders, POST /api/orders: the order (Created) + its order-created outbox row.
--   (b) Payments, the order-created consumer: inbox row + conditional debit + ledger row +
--       payment-processed outbox row.
--   (c) Orders, the payment-processed consumer: the order's status moves forward.
-- Ids are uuids derived from random 62-bit numbers, so the three transactions can name the same
-- order and message without carrying a string variable (works with -M simple and -M prepared).
-- One pgbench "transaction" = one script run = one order = 3 database transactions.
\set u random(1, 50)
\set amt random(1, 10000)
\set o random(1, 4611686018427387903)
\set m random(1, 4611686018427387903)

-- (a)
BEGIN;
INSERT INTO orders.orders (id, user_id, amount, description, status)
  VALUES (md5('order' || :o)::uuid, ('00000000-0000-4000-8000-' || lpad(:u::text, 12, '0'))::uuid, :amt, 'pgbench order', 'Created');
INSERT INTO orders.outbox (message_id, topic, key, value)
  VALUES (md5('created' || :m)::uuid, 'order-created', '00000000-0000-4000-8000-' || lpad(:u::text, 12, '0'),
          '{"type":"order-created","version":1,"payload":{"description":"pgbench order"}}');
COMMIT;

-- (b)
BEGIN;
INSERT INTO payments.inbox (message_id, topic) VALUES (md5('created' || :m)::uuid, 'order-created')
  ON CONFLICT (message_id) DO NOTHING;
UPDATE payments.accounts SET balance = balance - :amt, updated_at = now()
  WHERE user_id = ('00000000-0000-4000-8000-' || lpad(:u::text, 12, '0'))::uuid AND balance >= :amt
  RETURNING balance AS balance_after
\gset
INSERT INTO payments.ledger (user_id, kind, amount, order_id, balance_after)
  VALUES (('00000000-0000-4000-8000-' || lpad(:u::text, 12, '0'))::uuid, 'debit', :amt, md5('order' || :o)::uuid, :balance_after);
INSERT INTO payments.outbox (message_id, topic, key, value)
  VALUES (md5('processed' || :m)::uuid, 'payment-processed', '00000000-0000-4000-8000-' || lpad(:u::text, 12, '0'),
          '{"type":"payment-processed","version":1,"payload":{"status":"completed"}}');
COMMIT;

-- (c)
UPDATE orders.orders SET status = 'PaymentCompleted', updated_at = now()
  WHERE id = md5('order' || :o)::uuid AND status IN ('Created', 'PaymentPending');
