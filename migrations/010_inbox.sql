-- The console inbox (issue 15): internal notes on a handoff and the team's saved replies.

-- Notes staff write for each other on a handoff. They live only here: nothing reads this table
-- on the way to a user (the outbox sends `messages` rows), so a note cannot reach any platform.
create table handoff_notes (
  id          uuid primary key default gen_random_uuid(),
  handoff_id  uuid not null references handoffs(id),
  -- the agent's name as shown; agent_id is null for the CONSOLE_TOKEN lead bootstrap
  author      text not null,
  agent_id    text,
  text        text not null check (length(text) between 1 and 4000),
  created_at  timestamptz not null default now()
);
create index handoff_notes_handoff on handoff_notes (handoff_id, created_at);

-- Canned answers staff insert into a reply (the reply box's picker).
create table saved_replies (
  id          uuid primary key default gen_random_uuid(),
  title       text not null check (length(title) between 1 and 80),
  body        text not null check (length(body) between 1 and 4000),
  created_by  text not null,
  created_at  timestamptz not null default now(),
  updated_by  text not null,
  updated_at  timestamptz not null default now()
);
-- One reply per title, whatever the case: the picker lists them by title.
create unique index saved_replies_title on saved_replies (lower(title));

-- The console's live view asks "did anything change?" every second or so: the latest event.
create index handoff_events_at on handoff_events (at);
