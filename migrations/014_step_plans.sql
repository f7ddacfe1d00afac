-- Orchestration plans: the steps a routing decision planned (a worker, its sub-question and the
-- steps it waits for), which step each worker run answered, and a run that took over a step
-- another worker declined ('declined': it could not answer, nothing found or outside its tools).
alter table routing_decisions add column plan jsonb;
alter table worker_runs add column step text;
alter table worker_runs add column reassigned_from text;
alter table worker_runs drop constraint if exists worker_runs_status_check;
alter table worker_runs add constraint worker_runs_status_check
  check (status in ('ok', 'needs_human', 'declined', 'failed', 'timeout'));
