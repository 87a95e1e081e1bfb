-- Daily digest settings and schedule.

ALTER TABLE chats ADD COLUMN digest_time TEXT;              -- 'HH:MM' local, NULL: off
ALTER TABLE chats ADD COLUMN digest_next_due INTEGER;       -- unix UTC of the next digest
ALTER TABLE chats ADD COLUMN digest_only INTEGER NOT NULL DEFAULT 0;   -- digest replaces instant notices
ALTER TABLE chats ADD COLUMN digest_when_empty INTEGER NOT NULL DEFAULT 0;  -- 1: send "nothing new"
ALTER TABLE chats ADD COLUMN digest_last_date TEXT;         -- local date of the last digest

CREATE INDEX chats_digest_due ON chats (digest_next_due) WHERE digest_next_due IS NOT NULL;
