-- The outbox (issue 10): every outbound message (bot replies, staff replies, give-up notices,
-- refund decisions, SLA notes) is a row of `messages` with direction 'out', recorded under its
-- idempotency key and delivered through the platform's adapter by whichever process has one.
--
-- status of an outbound row:
--   pending     recorded, not yet tried
--   sending     claimed by a process that is delivering it now (until claimed_until)
--   retry       a delivery failed; tried again at next_attempt_at
--   no_adapter  no process that tried has an adapter for its platform; one that has delivers it
--   sent        the platform accepted every part
--   failed      given up (out of attempts, or abandoned when its job gave up to a person)

-- Delivery order within a conversation (created_at ties inside one transaction).
alter table messages add column seq bigint generated always as identity;
-- How many parts of a multi-part reply the platform accepted: a retry resumes after them.
alter table messages add column parts_sent integer not null default 0;
alter table messages add column attempts integer not null default 0;
alter table messages add column next_attempt_at timestamptz;
alter table messages add column claimed_until timestamptz;
-- What an outbound row is: 'message' (a reply, a staff reply, a notice) or 'question_post' (the
-- post a Slack `/support` question is answered under; posted after the command is acknowledged).
alter table messages add column kind text not null default 'message';

create index messages_outbox on messages (conversation_id, seq)
  where direction = 'out' and status in ('pending', 'sending', 'retry', 'no_adapter');
