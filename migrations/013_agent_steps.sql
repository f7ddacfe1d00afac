-- Workers as services (issue 18, part 3): a worker's step delegated through the shared queue to a
-- process that runs that worker (`switchboard worker --agents billing`). The job itself is a
-- graphile-worker job (task `step:<worker>`); this row is the step's input, its claim and its result.
--
-- status: queued → running → done | failed (the worker process), or cancelled (the supervisor's
-- budget ran out before it started: it must not run) / abandoned (the budget ran out while it ran:
-- whatever it answers later is ignored). Only one of the two sides wins each transition.
create table agent_steps (
  id              uuid primary key default gen_random_uuid(),
  conversation_id uuid,
  message_id      uuid,
  worker          text not null,
  -- the worker's whole input (WorkerInput), as the supervisor built it
  input           jsonb not null,
  status          text not null default 'queued'
                  check (status in ('queued', 'running', 'done', 'failed', 'cancelled', 'abandoned')),
  -- the WorkerResult, when done
  result          jsonb,
  error           text,
  -- runs started (a worker process killed mid-step leaves it to another one: 2, 3, …)
  attempts        integer not null default 0,
  -- the graphile-worker id and the process id of the worker process that last took it
  claimed_by      text,
  claimed_pid     integer,
  -- when the message's budget runs out: a step not started by then is not started at all
  deadline        timestamptz not null,
  created_at      timestamptz not null default clock_timestamp(),
  started_at      timestamptz,
  finished_at     timestamptz
);
create index agent_steps_message on agent_steps (message_id);
create index agent_steps_open on agent_steps (created_at) where status in ('queued', 'running');

-- Wakes the supervisor waiting for the step (one LISTEN connection per process) the moment a
-- worker process records its result.
create function switchboard_step_finished() returns trigger language plpgsql as $$
begin
  perform pg_notify('switchboard_step_finished', new.id::text);
  return null;
end
$$;

create trigger agent_steps_finished
  after update of status on agent_steps
  for each row
  when (new.status in ('done', 'failed') and old.status is distinct from new.status)
  execute function switchboard_step_finished();
