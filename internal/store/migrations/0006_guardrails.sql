-- Guardrails: the facts the rules of respect need (household, purchases) and
-- one recorded decision per touch, with the rule that decided it and why.

-- What the customer told us about their household, e.g.
-- {"children_birth_years": [2009, 2012]}. NULL means we were never told.
alter table customers add column household jsonb;

-- One row per category of an order. Value facts (order count, lifetime
-- spend) are computed from here; sensitive marks categories that must never
-- show on a surface others can see; ship_to is where that order went.
create table purchases (
    customer_id  text not null references customers (id) on delete cascade,
    order_ref    text not null,
    category     text not null,
    sensitive    boolean not null default false,
    amount_cents bigint not null default 0 check (amount_cents >= 0),
    ship_to      text not null default 'home' check (ship_to in ('home', 'po_box')),
    primary key (customer_id, order_ref, category)
);

-- The decision the rules made about a touch, made once and read back by every
-- retry. outcome allow: sent as planned; change: sent differently (final_*
-- says how); block: not sent. rule_id is stable, reason is plain words.
create table decisions (
    touch_id        bigint primary key references touches (id) on delete cascade,
    outcome         text not null check (outcome in ('allow', 'change', 'block')),
    rule_id         text not null,
    reason          text not null,
    planned_channel text not null,
    planned_surface text not null,
    final_channel   text not null,
    final_surface   text not null,
    detail          jsonb not null default '{}',
    decided_at      timestamptz not null default now()
);
create index decisions_rule on decisions (rule_id, outcome);
