-- Demo billing data for the fictional Acme Cloud. Dates are relative to now() so "this month"
-- always has something to show. Loaded only into a new embedded database (DEMO_DATA=auto).
insert into customers (id, name, email, plan, seats, currency) values
  ('cus_jordan', 'Jordan Lee', 'jordan@example.com', 'Pro', 2, 'USD'),
  ('cus_priya', 'Priya Shah', 'priya@example.com', 'Business', 10, 'USD')
on conflict do nothing;

-- Demo chat accounts: `u1` on the HTTP API and the terminal user are Jordan; `u2` is Priya.
insert into identities (platform, platform_user_id, customer_id) values
  ('http', 'u1', 'cus_jordan'),
  ('cli', 'local', 'cus_jordan'),
  ('http', 'u2', 'cus_priya')
on conflict do nothing;

insert into invoices (id, customer_id, number, period_start, period_end, amount_cents, status, issued_at, due_at) values
  ('in_j1', 'cus_jordan', 'INV-1001', (now() - interval '3 months')::date, (now() - interval '2 months')::date, 2400, 'paid', now() - interval '3 months', now() - interval '3 months' + interval '14 days'),
  ('in_j2', 'cus_jordan', 'INV-1002', (now() - interval '2 months')::date, (now() - interval '1 month')::date, 2400, 'paid', now() - interval '2 months', now() - interval '2 months' + interval '14 days'),
  ('in_j3', 'cus_jordan', 'INV-1003', (now() - interval '1 month')::date, now()::date, 2400, 'paid', now() - interval '1 month', now() - interval '1 month' + interval '14 days'),
  ('in_j4', 'cus_jordan', 'INV-1004', now()::date, (now() + interval '1 month')::date, 2400, 'paid', now() - interval '2 days', now() + interval '12 days'),
  ('in_p1', 'cus_priya', 'INV-2001', (now() - interval '1 month')::date, now()::date, 25000, 'paid', now() - interval '1 month', now() - interval '1 month' + interval '14 days'),
  ('in_p2', 'cus_priya', 'INV-2002', now()::date, (now() + interval '1 month')::date, 25000, 'open', now() - interval '1 day', now() + interval '13 days')
on conflict do nothing;

insert into payments (id, customer_id, invoice_id, amount_cents, method, status, created_at) values
  ('pay_j1', 'cus_jordan', 'in_j1', 2400, 'Visa •••• 4242', 'succeeded', now() - interval '3 months'),
  ('pay_j2', 'cus_jordan', 'in_j2', 2400, 'Visa •••• 4242', 'succeeded', now() - interval '2 months'),
  ('pay_j3', 'cus_jordan', 'in_j3', 2400, 'Visa •••• 4242', 'succeeded', now() - interval '1 month'),
  ('pay_j4', 'cus_jordan', 'in_j4', 2400, 'Visa •••• 4242', 'succeeded', now() - interval '2 days'),
  -- the same invoice charged again a minute later: the double charge the demo is about.
  ('pay_j5', 'cus_jordan', 'in_j4', 2400, 'Visa •••• 4242', 'succeeded', now() - interval '2 days' + interval '1 minute'),
  ('pay_p1', 'cus_priya', 'in_p1', 25000, 'Amex •••• 1005', 'succeeded', now() - interval '1 month'),
  ('pay_p2', 'cus_priya', 'in_p1', 25000, 'Amex •••• 1005', 'succeeded', now() - interval '1 month' + interval '2 minutes')
on conflict do nothing;
