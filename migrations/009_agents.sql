-- Support agents (issue 15): each signs in with a token of their own; only its argon2id hash is
-- kept. `id` is the token's public prefix, so a token names the one hash to verify.
create table agents (
  id          text primary key,
  name        text not null,
  role        text not null check (role in ('agent', 'lead')),
  token_hash  text not null,
  created_at  timestamptz not null default now()
);
-- Names are what people see on replies: one agent per name, whatever the case.
create unique index agents_name on agents (lower(name));

-- Refund approvals: a refund awaiting approval is approved or rejected by a person, who is named.
alter table refunds drop constraint if exists refunds_status_check;
alter table refunds add constraint refunds_status_check
  check (status in ('requested', 'awaiting_approval', 'approved', 'processing', 'completed', 'rejected'));
alter table refunds
  add column decided_by      text,
  add column decided_at      timestamptz,
  add column decision_reason text;
