-- Events that providers report about touches (delivered, opened, clicked,
-- bounced, replied, STOP...), deduplicated by the provider's own event key so
-- that a replayed webhook is stored once. Rows hold ids and kinds; the
-- provider payload is not kept, because it quotes addresses and bodies.
create table provider_events (
    id                  bigserial primary key,
    provider            text not null,
    event_key           text not null,
    kind                text not null,
    touch_id            bigint references touches (id),
    customer_id         text references customers (id) on delete cascade,
    channel             text check (channel in ('email', 'sms', 'voice', 'mail')),
    provider_message_id text,
    occurred_at         timestamptz,
    received_at         timestamptz not null default now(),
    unique (provider, event_key)
);
create index provider_events_touch on provider_events (touch_id);
create index provider_events_customer on provider_events (customer_id, received_at);

-- Status callbacks and inbound replies name the provider's message id.
create index touches_provider_message on touches (provider_message_id) where provider_message_id is not null;
-- Inbound SMS names the sender's phone number.
create index customers_phone on customers (phone) where phone is not null;
