-- Shared state of the service that every process must agree on, e.g. whether model calls are
-- failing (`model`: ok | degraded): the process whose update changes it tells the staff channel,
-- so staff hear of an outage once, not once per worker.
create table service_state (
  name        text primary key,
  value       text not null,
  detail      text not null default '',
  changed_at  timestamptz not null default now()
);
