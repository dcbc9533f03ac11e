-- The global throttle. A touch may now wait ('deferred': a rule holds it
-- until not_before) or give up ('expired': its deadline came first). The
-- touch row carries its current state and the rule behind it; every single
-- decision, including each deferral of a touch that waited more than once, is
-- kept in throttle_decisions, so "why" can be answered for any moment.
--
-- A touch counts against the caps at touch_at, the moment the throttle
-- allowed it, while it is reserved, sending or sent. Reserved rows without
-- touch_at are still waiting for a decision and count for nothing; blocked,
-- failed (released) and expired rows never count.
--
-- Note for later migrations: a migration that redefines touches_status_check
-- must keep 'deferred' and 'expired'.
alter table touches drop constraint touches_status_check;
alter table touches add constraint touches_status_check
    check (status in ('reserved', 'sending', 'sent', 'blocked', 'failed', 'deferred', 'expired'));

alter table touches add column touch_at timestamptz;
alter table touches add column not_before timestamptz;
alter table touches add column deadline timestamptz;

-- Touches already under way before the throttle existed count from when
-- they were sent (or recorded).
update touches set touch_at = coalesce(sent_at, created_at) where status in ('sending', 'sent');

create index touches_customer_counted on touches (customer_id, touch_at)
    where status in ('reserved', 'sending', 'sent') and touch_at is not null;

-- Deferred touches of a customer: a due touch of higher priority goes first.
create index touches_customer_deferred on touches (customer_id, not_before) where status = 'deferred';

create table throttle_decisions (
    id           bigserial primary key,
    touch_id     bigint not null references touches (id),
    customer_id  text not null,
    decided_at   timestamptz not null,   -- the decision's clock
    requested_at timestamptz,            -- the journey's clock when it asked
    outcome      text not null check (outcome in ('allowed', 'deferred', 'expired')),
    rule         text not null default '',
    reason       text not null default '',
    not_before   timestamptz,
    created_at   timestamptz not null default now()
);
create index throttle_decisions_touch on throttle_decisions (touch_id, id);
create index throttle_decisions_customer on throttle_decisions (customer_id, decided_at);
