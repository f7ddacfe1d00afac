-- Every call to the chat model (LLM engine): which stage made it (the router, a worker, the merge),
-- which model answered, its tokens, how long it took and how it ended, next to the worker runs of
-- the message it was made for: "why did the bot say X, and what did it cost". One row per call as
-- the service sees it (the client's own retries of a failed request are inside the call).
create table model_calls (
  id                 uuid primary key default gen_random_uuid(),
  -- Null for a call made outside a turn.
  message_id         uuid references messages(id),
  stage              text not null check (stage in ('router', 'worker', 'merge', 'other')),
  -- The worker that made the call (stage `worker`).
  worker             text,
  model              text not null,
  prompt_tokens      integer,
  completion_tokens  integer,
  latency_ms         real not null,
  -- `cancelled`: the message's time budget ran out while the call was in flight.
  outcome            text not null check (outcome in ('ok', 'failed', 'cancelled')),
  error              text,
  created_at         timestamptz not null default now()
);
create index model_calls_message on model_calls (message_id);
