-- Which engine produced each worker answer: `llm`, `offline`, `llm->offline` (the model failed and
-- the offline answer was used) or `none` (the worker failed). Rows from before are unknown.
alter table worker_runs add column engine text not null default 'unknown';
