-- pgbench reference for BENCHMARKS.md: the tables the naive per-order SQL touches, shaped like
-- Gozon's own migrations (modules/*/db/migrations, shared/messaging/messaging.tables.ts), plus
-- 50 accounts with huge balances so that no debit ever fails.
--
-- Run it in a scratch database (it drops and recreates the schemas orders and payments):
--   createdb -h 127.0.0.1 -U postgres gozon_pgbench
--   psql -h 127.0.0.1 -U postgres -d gozon_pgbench -v ON_ERROR_STOP=1 -f bench/pgbench/schema.sql
--   pgbench -h 127.0.0.1 -U postgres -n -c 8 -j 2 -T 30 -f bench/pgbench/order.sql gozon_pgbench
--   dropdb -h 127.0.0.1 -U postgres gozon_pgbench

drop schema if exists orders cascade;
drop schema if exists payments cascade;
create schema orders;
create schema payments;

create table orders.orders (
  id uuid primary key,
  seq bigint not null unique generated always as identity,
  user_id uuid not null,
  amount bigint not null check (amount > 0),
  description text not null,
  status text not null check (status in ('Created', 'PaymentPending', 'PaymentCompleted', 'PaymentFailed')),
  failure_reason text,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);
create index orders_by_user on orders.orders (user_id, seq);

create table payments.accounts (
  user_id uuid primary key,
  balance bigint not null default 0 check (balance >= 0 and balance <= 9000000000000000),
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);

create table payments.ledger (
  id bigint primary key generated always as identity,
  user_id uuid not null references payments.accounts (user_id),
  kind text not null check (kind in ('deposit', 'debit')),
  amount bigint not null check (amount > 0),
  order_id uuid,
  balance_after bigint not null,
  created_at timestamptz not null default now(),
  constraint ledger_debit_has_order check ((kind = 'debit') = (order_id is not null))
);
create unique index ledger_one_debit_per_order on payments.ledger (order_id);
create index ledger_by_account on payments.ledger (user_id, id);

-- The outbox and inbox of each module, as shared/messaging/messaging.tables.ts creates them.
do $$
declare s text;
begin
  foreach s in array array['orders', 'payments'] loop
    execute format($f$
      create table %1$I.outbox (
        id bigint primary key generated always as identity,
        message_id uuid not null unique,
        topic text not null,
        key text not null,
        value text not null,
        created_at timestamptz not null default now(),
        published_at timestamptz
      );
      create index outbox_unpublished on %1$I.outbox (id) where published_at is null;
      create index outbox_published_at on %1$I.outbox (published_at) where published_at is not null;
      create table %1$I.inbox (
        message_id uuid primary key,
        topic text not null,
        received_at timestamptz not null default now()
      );$f$, s);
  end loop;
end $$;

-- Account n (1..50) has user id 00000000-0000-4000-8000-00000000000n (order.sql builds the same).
insert into payments.accounts (user_id, balance)
select ('00000000-0000-4000-8000-' || lpad(n::text, 12, '0'))::uuid, 9000000000000000 / 2
from generate_series(1, 50) as n;

vacuum analyze;
