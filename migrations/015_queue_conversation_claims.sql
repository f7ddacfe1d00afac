-- The inbox's per-conversation claim (issue 13), replacing one graphile-worker named queue per
-- conversation (`conv:<id>`, which cost most of the queue's Postgres CPU). A conversation with
-- work has exactly one graphile-worker job at a time, its head's (job key = message id, no named
-- queue); the messages behind it wait here, in arrival order, and the statement that finishes the
-- head moves the next one up and adds its job. See src/inbox/graphile-queue.ts for why no
-- interleaving loses or doubles a job.
--
-- No foreign key to conversations: the queue is a port of its own (its contract suite queues ids
-- the conversation log never saw).
create table conversation_claims (
  conversation_id uuid primary key,
  -- The message whose job runs (or waits to run, or to be retried) now; null: nothing queued.
  head            uuid,
  -- The head's platform: its job's flag, for workers that cannot deliver there.
  head_platform   text,
  -- The jobs behind the head, oldest first: [{"messageId": …, "platform": …}, …]. Empty when head is null.
  waiting         jsonb not null default '[]',
  check (head is not null or waiting = '[]')
);
-- The sweep that repairs claims whose head's job is gone reads only the held ones.
create index conversation_claims_held on conversation_claims (head) where head is not null;
