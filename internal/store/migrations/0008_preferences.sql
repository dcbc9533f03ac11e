-- What customers told us in the preference center, every change to it, their
-- per-channel-per-intent suppressions (one-click unsubscribe), and erasures.

-- One row per customer who saved preferences. No row means "no limit chosen".
create table customer_preferences (
    customer_id   text primary key references customers (id) on delete cascade,
    max_frequency text not null default 'any'
                  check (max_frequency in ('any', 'weekly', 'monthly', 'on_request')),
    quiet_start   time,          -- local time of day in the customer's time zone
    quiet_end     time,
    updated_at    timestamptz not null default now(),
    check ((quiet_start is null) = (quiet_end is null))
);

-- The audit trail: one row per changed field, with when and through what.
create table preference_changes (
    id          bigserial primary key,
    customer_id text not null,
    changed_at  timestamptz not null default now(),
    source      text not null,   -- preference_center, one_click_unsubscribe, erasure, ...
    field       text not null,
    old_value   text not null default '',
    new_value   text not null default ''
);
create index preference_changes_customer on preference_changes (customer_id, changed_at);

-- A suppression stops one intent on one channel, e.g. promotional email after
-- an unsubscribe, while transactional email still flows.
create table suppressions (
    customer_id text not null references customers (id) on delete cascade,
    channel     text not null check (channel in ('email', 'sms', 'voice', 'mail')),
    intent      text not null check (intent in ('transactional', 'caring', 'promotional')),
    source      text not null,
    created_at  timestamptz not null default now(),
    primary key (customer_id, channel, intent)
);

-- A customer whose personal data was erased keeps only an id, so that the
-- ledger's counts still add up.
alter table customers add column erased_at timestamptz;
