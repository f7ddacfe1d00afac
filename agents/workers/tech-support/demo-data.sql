-- Demo service status for the fictional Acme Cloud: one open incident.
insert into incidents (id, title, components, status, message, started_at) values
  ('inc_android_sync', 'Delayed sync on Android', array['sync', 'android'], 'identified',
   'Notes edited on Android can take up to 15 minutes to appear on other devices. A fix is rolling out; no data is lost.',
   now() - interval '3 hours'),
  ('inc_old_api', 'API errors on the v1 export endpoint', array['api', 'export'], 'resolved',
   'Resolved: the v1 export endpoint returned 500s for 20 minutes.', now() - interval '9 days')
on conflict do nothing;
update incidents set resolved_at = started_at + interval '20 minutes' where id = 'inc_old_api' and resolved_at is null;
