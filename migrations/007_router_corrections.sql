-- Staff corrections of the router: the right route of a user message, set from the console's
-- routing trace. Each is a training line in the company's own words: the offline router trains
-- on them at start (beside ROUTER_EXAMPLES). One per message; setting it again replaces it.
create table router_corrections (
  message_id  uuid primary key references messages(id),
  -- the message as the router saw it (redacted), so the line trains on what routing reads
  text        text not null,
  route       text not null,
  -- what the router had decided, for review ("billing" → "tech_support")
  routed      jsonb not null default '[]',
  agent       text not null,
  created_at  timestamptz not null default now(),
  updated_at  timestamptz not null default now()
);
