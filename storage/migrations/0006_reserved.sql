-- Reserved: the number 0006 belongs to the delivery work, which is not on this branch yet.
-- This file only keeps the sequence whole so that 0007 can run; it changes nothing. When the
-- delivery's 0006 lands, delete this file (two 0006 files fail `storage.db.migrations()`).
SELECT 1;
