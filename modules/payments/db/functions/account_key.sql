-- payments.account_key(user_id): the advisory lock key of a user's account. Opening an account
-- and refund_orders both take it, so no account can appear (and a debit on it run) between a
-- refund's look at a user without an account and its commit.
create or replace function payments.account_key(user_id uuid) returns bigint
language sql immutable parallel safe
as $$ select hashtextextended('gozon.payments.account:' || user_id::text, 0) $$
