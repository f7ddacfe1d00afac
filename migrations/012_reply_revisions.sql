-- Partial answers first (issue 16): a multi-part reply on Slack or Discord is posted with the parts
-- that are ready, then edited in place as the others finish. Each version is an outbound row of its
-- own (the outbox delivers them in order, once each); a later version names the row it revises and
-- is delivered by editing the platform messages that row posted.
--
-- kind 'partial': a version of a reply that a later one replaces (not shown in transcripts).

-- Where the platform put each part of an outbound row: {"0": "<ref>", …}, a ref being what the
-- adapter needs to edit that part later (Slack channel and ts, a Discord channel or webhook message).
alter table messages add column platform_refs jsonb;
-- The idempotency key of the outbound row this one revises (edits in place), if any.
alter table messages add column revises text;
