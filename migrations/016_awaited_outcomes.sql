-- Whether someone in another process waits for this inbound message's outcome (the HTTP API, a
-- Discord /support, `switchboard ask` against a server): only then does its finish NOTIFY
-- `switchboard_message_finished`. Postgres 15 wakes every LISTENing backend of a database for
-- every NOTIFY in it, whatever the channel (graphile-worker's own listener too), and each wake-up
-- is a transaction: a Slack message, whose outcome nobody asks for, cost one for nothing.
--
-- The waiter sets it and reads the status back in one statement (`OutcomeWaiter`): either its
-- update comes first and the finish, which then sees it, NOTIFYs, or the finish came first and
-- the update returns the finished status.
alter table messages add column outcome_awaited boolean not null default false;

drop trigger messages_finished on messages;
create trigger messages_finished
  after update of status on messages
  for each row
  when (new.direction = 'in' and new.outcome_awaited and new.status in ('done', 'failed') and old.status is distinct from new.status)
  execute function switchboard_message_finished();
