-- Human-call tasks: a caring message is never an automated voice call; it is
-- a task a person works at the call desk. A task moves open -> claimed (one
-- agent, with a lease that lapses) -> completed (with an outcome) or expired.
create table call_tasks (
    id                  bigserial primary key,
    -- The CallTask workflow that waits for this task's outcome.
    workflow_id         text not null,
    journey_workflow_id text not null,
    entry_id            text not null,
    step_key            text not null,
    customer_id         text not null references customers (id),
    journey             text not null,
    journey_version     int not null,
    step_id             text not null,
    reason              text not null,
    talking_points_name text not null default '',
    -- The talking points as a template; the desk renders it for the agent.
    talking_points      text not null default '',
    due_at              timestamptz not null,
    status              text not null default 'open'
                        check (status in ('open', 'claimed', 'completed', 'expired')),
    claimed_by          text,
    lease_until         timestamptz,
    outcome             text check (outcome in ('reached', 'voicemail', 'no_answer', 'wrong_number', 'do_not_call')),
    notes               text not null default '',
    completed_by        text,
    completed_at        timestamptz,
    created_at          timestamptz not null default now(),
    updated_at          timestamptz not null default now(),
    unique (journey_workflow_id, entry_id, step_key),
    check ((status = 'completed') = (outcome is not null))
);
create index call_tasks_queue on call_tasks (status, due_at);

-- A number the call desk learned is wrong: no one calls or texts it again
-- until the customer record is corrected.
alter table customers add column phone_invalid boolean not null default false;
