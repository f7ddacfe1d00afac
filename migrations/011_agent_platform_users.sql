-- Staff in the Slack and Discord staff channels act as agents (issue 15): an agent is linked to
-- their Slack user id and/or Discord user id, and a click or thread reply from that platform user
-- is that agent's. One agent per platform user, so a click never has two possible owners.
alter table agents
  add column slack_user   text,
  add column discord_user text;
create unique index agents_slack_user on agents (slack_user) where slack_user is not null;
create unique index agents_discord_user on agents (discord_user) where discord_user is not null;
