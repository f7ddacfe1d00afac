-- The human handoff loop: every transition of a handoff as an event, who resolved it and how,
-- the SLA re-announcements, and where its card sits in the staff channels.

create table handoff_events (
  id          uuid primary key default gen_random_uuid(),
  handoff_id  uuid not null references handoffs(id),
  -- opened, claimed, agent_reply, user_message, resolved, back_to_bot, sla_reannounced, notify_failed
  kind        text not null,
  -- the agent's name, `user`, `bot` or `system`
  actor       text not null,
  text        text not null default '',
  at          timestamptz not null default now()
);
create index handoff_events_handoff on handoff_events (handoff_id, at);

alter table handoffs
  add column resolved_by        text,
  add column resolution_note    text,
  -- when staff were last told about it (opened, or re-announced after the SLA ran out)
  add column announced_at       timestamptz,
  add column reannounce_count   integer not null default 0,
  -- the card in the Slack staff channel (its ts is also the staff thread)
  add column slack_card_channel text,
  add column slack_card_ts      text,
  -- the card in the Discord staff channel (the staff thread has the card message's id)
  add column discord_card_channel text,
  add column discord_card_message text;

create index handoffs_slack_card on handoffs (slack_card_channel, slack_card_ts) where slack_card_ts is not null;
create index handoffs_discord_card on handoffs (discord_card_message) where discord_card_message is not null;
