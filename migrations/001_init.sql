-- Switchboard's system of record. Every message, routing decision, worker run and handoff.

create table customers (
  id          text primary key,
  name        text not null,
  email       text not null unique,
  plan        text not null,
  seats       integer not null default 1,
  currency    text not null default 'USD',
  created_at  timestamptz not null default now()
);

-- A platform account linked to a customer. Billing tools read the customer from here, never
-- from what the user or the model writes.
create table identities (
  platform          text not null,
  platform_user_id  text not null,
  customer_id       text not null references customers(id),
  linked_at         timestamptz not null default now(),
  primary key (platform, platform_user_id)
);

create table conversations (
  id                uuid primary key default gen_random_uuid(),
  platform          text not null,
  conversation_key  text not null,
  user_id           text not null,
  customer_id       text references customers(id),
  -- bot: the bot answers; waiting: a handoff is open; human: a named agent owns it.
  status            text not null default 'bot' check (status in ('bot', 'waiting', 'human')),
  assignee          text,
  -- consecutive messages the router was unsure about (one clarifying question, then a human).
  unclear_streak    integer not null default 0,
  created_at        timestamptz not null default now(),
  updated_at        timestamptz not null default now(),
  unique (platform, conversation_key)
);
create index conversations_user on conversations (platform, user_id);

create table messages (
  id                   uuid primary key default gen_random_uuid(),
  conversation_id      uuid not null references conversations(id),
  direction            text not null check (direction in ('in', 'out')),
  author_kind          text not null check (author_kind in ('user', 'bot', 'agent', 'system')),
  author_id            text,
  text                 text not null,
  platform             text not null,
  -- the platform's id of an inbound message: retries and replays are dropped by it.
  platform_message_id  text,
  reply_context        jsonb,
  -- inbound: received -> processing -> done | failed. outbound: pending -> sent | failed.
  status               text not null,
  in_reply_to          uuid references messages(id),
  -- outbound: one delivery per key, however often a job is retried.
  idempotency_key      text unique,
  error                text,
  created_at           timestamptz not null default now(),
  processed_at         timestamptz,
  unique (platform, platform_message_id)
);
create index messages_conversation on messages (conversation_id, created_at);
create index messages_pending on messages (status) where direction = 'in' and status in ('received', 'processing');

create table routing_decisions (
  id          uuid primary key default gen_random_uuid(),
  message_id  uuid not null references messages(id),
  routes      jsonb not null,
  scores      jsonb not null,
  unsure      boolean not null,
  engine      text not null,
  latency_ms  real not null,
  error       text,
  created_at  timestamptz not null default now()
);
create index routing_decisions_message on routing_decisions (message_id);

create table worker_runs (
  id          uuid primary key default gen_random_uuid(),
  message_id  uuid not null references messages(id),
  worker      text not null,
  question    text not null,
  status      text not null check (status in ('ok', 'needs_human', 'failed', 'timeout')),
  reply       text,
  sources     jsonb not null default '[]',
  tool_calls  jsonb not null default '[]',
  error       text,
  latency_ms  real not null,
  created_at  timestamptz not null default now()
);
create index worker_runs_message on worker_runs (message_id);

create table handoffs (
  id               uuid primary key default gen_random_uuid(),
  conversation_id  uuid not null references conversations(id),
  message_id       uuid references messages(id),
  reason           text not null,
  detail           text not null default '',
  status           text not null default 'open' check (status in ('open', 'claimed', 'resolved')),
  assignee         text,
  created_at       timestamptz not null default now(),
  claimed_at       timestamptz,
  resolved_at      timestamptz
);
-- at most one unresolved handoff per conversation.
create unique index handoffs_one_open on handoffs (conversation_id) where status <> 'resolved';
create index handoffs_status on handoffs (status, created_at);

-- Billing (the demo company's tables; a real deployment points the billing tools at its own).
create table invoices (
  id            text primary key,
  customer_id   text not null references customers(id),
  number        text not null unique,
  period_start  date not null,
  period_end    date not null,
  amount_cents  integer not null,
  currency      text not null default 'USD',
  status        text not null check (status in ('paid', 'open', 'void', 'refunded')),
  issued_at     timestamptz not null,
  due_at        timestamptz not null
);
create index invoices_customer on invoices (customer_id, issued_at desc);

create table payments (
  id            text primary key,
  customer_id   text not null references customers(id),
  invoice_id    text references invoices(id),
  amount_cents  integer not null,
  currency      text not null default 'USD',
  method        text not null,
  status        text not null check (status in ('succeeded', 'failed', 'pending', 'refunded')),
  created_at    timestamptz not null
);
create index payments_customer on payments (customer_id, created_at desc);

create table refunds (
  id            text primary key default ('rf_' || substr(md5(random()::text), 1, 10)),
  customer_id   text not null references customers(id),
  payment_id    text not null references payments(id),
  amount_cents  integer not null,
  status        text not null check (status in ('requested', 'awaiting_approval', 'processing', 'completed', 'rejected')),
  reason        text not null,
  requested_at  timestamptz not null default now(),
  completed_at  timestamptz
);
create index refunds_customer on refunds (customer_id, requested_at desc);

-- Service status: open incidents the tech-support worker reports.
create table incidents (
  id          text primary key,
  title       text not null,
  components  text[] not null default '{}',
  status      text not null check (status in ('investigating', 'identified', 'monitoring', 'resolved')),
  message     text not null,
  started_at  timestamptz not null,
  updated_at  timestamptz not null default now(),
  resolved_at timestamptz
);
