-- The unfinished inbound messages, by conversation: the statement that starts a job reads those
-- of one conversation up to the job's message (`TurnStore.beginFirst`). On the index by status
-- it read every unfinished message of every conversation and kept the conversation's: with 1000
-- messages queued, 1585 buffers and 1.4 ms of Postgres per job (bench/cost.ts statements). A
-- scan of all of them (recovery at start) reads this index whole.
drop index messages_pending;
create index messages_pending on messages (conversation_id, created_at, id) where direction = 'in' and status in ('received', 'processing');
