-- Customers, their per-channel consent, the contact ledger and the sandbox outbox.

create table customers (
    id           text primary key,
    name         text not null,
    email        text,
    phone        text,
    address      jsonb,           -- {line1, line2, city, region, postal_code, country, po_box}
    time_zone    text not null,   -- IANA name, checked by the importer
    account_type text not null default 'customer'
                 check (account_type in ('customer', 'internal', 'subsidiary', 'affiliate')),
    interests    text[] not null default '{}',
    attributes   jsonb not null default '{}',
    created_at   timestamptz not null default now(),
    updated_at   timestamptz not null default now()
);

-- One row per (customer, channel). No row means no consent: the engine never
-- assumes permission it was not given.
create table consents (
    customer_id text not null references customers (id) on delete cascade,
    channel     text not null check (channel in ('email', 'sms', 'voice', 'mail')),
    granted     boolean not null,
    source      text not null default 'import',
    updated_at  timestamptz not null default now(),
    primary key (customer_id, channel)
);

-- The contact ledger: one row per touch, the single source of truth for what
-- was sent, skipped or deferred, and why. (workflow_id, entry_id, step_key) is
-- the idempotency key: stable across activity retries, worker crashes and
-- continue-as-new; entry_id (the journey's first run id) tells a deliberate
-- re-entry into the same journey apart from a retry.
create table touches (
    id                  bigserial primary key,
    workflow_id         text not null,
    entry_id            text not null,
    step_key            text not null,
    journey             text not null,
    journey_version     int not null,
    customer_id         text not null references customers (id),
    step_id             text not null,
    channel             text not null check (channel in ('email', 'sms', 'voice', 'mail')),
    intent              text not null check (intent in ('transactional', 'caring', 'promotional')),
    status              text not null
                        check (status in ('reserved', 'sending', 'sent', 'blocked', 'failed')),
    reason              text not null default '',
    provider_message_id text,
    attempts            int not null default 1,
    created_at          timestamptz not null default now(),
    updated_at          timestamptz not null default now(),
    sent_at             timestamptz,
    unique (workflow_id, entry_id, step_key)
);
create index touches_customer_created on touches (customer_id, created_at);
create index touches_journey on touches (journey, status);

-- What the sandbox would have sent, exactly as rendered. One row per touch:
-- the sandbox is idempotent by touch id like a real provider's idempotency key.
create table sandbox_outbox (
    touch_id    bigint primary key references touches (id),
    customer_id text not null,
    channel     text not null,
    recipient   text not null,
    subject     text not null default '',
    body        text not null,
    created_at  timestamptz not null default now()
);
