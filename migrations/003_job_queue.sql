-- The durable inbox (issue 7). The job queue itself is graphile-worker's own schema
-- (`graphile_worker`, installed by its migrations); these tables are Switchboard's side of it.

-- What the adapter renders besides the text of an outbound reply (sections, footer), so a retried
-- job re-delivers exactly the reply that was recorded instead of computing a new one.
alter table messages add column payload jsonb;

-- Every attempt at processing an inbound message: which worker, when it started and ended, and
-- how. A crash leaves an attempt with no `finished_at`. Times come from the database clock, so
-- attempts in different processes compare.
create table processing_attempts (
  id           bigserial primary key,
  message_id   uuid not null references messages(id),
  conversation_id uuid not null references conversations(id),
  worker_id    text not null,
  attempt      integer not null,
  started_at   timestamptz not null default clock_timestamp(),
  finished_at  timestamptz,
  -- done | retry | failed
  result       text,
  error        text
);
create index processing_attempts_message on processing_attempts (message_id);
create index processing_attempts_conversation on processing_attempts (conversation_id, started_at);

-- Worker processes and when each was last seen. A worker not seen for the lease time is dead:
-- the jobs it held are released for another worker (graphile-worker would otherwise keep them
-- locked for four hours).
create table queue_workers (
  id         text primary key,
  pid        integer not null,
  host       text not null,
  started_at timestamptz not null default now(),
  seen_at    timestamptz not null default now()
);

-- Who may touch a conversation's bot memory right now: the job answering one of its messages, or
-- a handoff writing a note into the memory. Expires unless its holder is alive.
create table conversation_leases (
  conversation_id uuid primary key references conversations(id),
  holder          text not null,
  expires_at      timestamptz not null
);

-- Wakes whoever waits for a message's outcome (the HTTP API in a gateway process) the moment
-- any worker finishes it. Where LISTEN is not available (embedded Postgres), waiters poll.
create function switchboard_message_finished() returns trigger language plpgsql as $$
begin
  perform pg_notify('switchboard_message_finished', new.id::text);
  return null;
end
$$;

create trigger messages_finished
  after update of status on messages
  for each row
  when (new.direction = 'in' and new.status in ('done', 'failed') and old.status is distinct from new.status)
  execute function switchboard_message_finished();
