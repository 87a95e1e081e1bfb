-- The outbox: what must be sent, written in the same transaction that marks an event handled.

CREATE TABLE notices (
    id         INTEGER PRIMARY KEY,
    kind       TEXT    NOT NULL,              -- episode, finished, announce, torrent, digest, text
    title_id   INTEGER,
    payload    TEXT    NOT NULL,              -- JSON: what render needs, language-free
    created_at REAL    NOT NULL
);

CREATE TABLE outbox (
    id         INTEGER PRIMARY KEY,
    chat_id    INTEGER NOT NULL REFERENCES chats (id) ON DELETE CASCADE ON UPDATE CASCADE,
    notice_id  INTEGER NOT NULL REFERENCES notices (id) ON DELETE CASCADE,
    dedupe_key TEXT    NOT NULL,              -- one message per chat per key, whatever arrives twice
    priority   INTEGER NOT NULL,              -- lower goes first: episode news before digests
    thread_id  INTEGER,
    state      TEXT    NOT NULL DEFAULT 'pending',  -- pending, sending, sent, parked
    attempts   INTEGER NOT NULL DEFAULT 0,
    not_before REAL    NOT NULL DEFAULT 0,
    last_error TEXT,
    created_at REAL    NOT NULL,
    done_at    REAL,
    UNIQUE (chat_id, dedupe_key)
);

CREATE INDEX outbox_due ON outbox (priority, not_before, id) WHERE state = 'pending';
CREATE INDEX outbox_by_state_time ON outbox (state, done_at);
CREATE INDEX outbox_by_notice ON outbox (notice_id);

-- title_update hashes already handled.
CREATE TABLE seen_hashes (
    hash    TEXT PRIMARY KEY,
    seen_at INTEGER NOT NULL
) WITHOUT ROWID;

CREATE INDEX seen_hashes_by_time ON seen_hashes (seen_at);
