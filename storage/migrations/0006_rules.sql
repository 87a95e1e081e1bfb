-- Follow rules: "tell this chat about every new title that matches". (0006 is the delivery work's.)

CREATE TABLE rules (
    id             INTEGER PRIMARY KEY,
    chat_id        INTEGER NOT NULL REFERENCES chats (id) ON DELETE CASCADE ON UPDATE CASCADE,
    genres         TEXT    NOT NULL DEFAULT '[]',  -- JSON list of names, as the API spells them
    voices         TEXT    NOT NULL DEFAULT '[]',  -- JSON list of voice actors' names
    kind           TEXT,                           -- TV, MOVIE, OVA, ONA, SPECIAL, WEB, OTHER
    season         TEXT,                           -- winter, spring, summer, autumn
    year           INTEGER,
    also_subscribe INTEGER NOT NULL DEFAULT 0,     -- 1: a match also subscribes the chat
    thread_id      INTEGER,                        -- forum topic where the rule was made
    terms          INTEGER NOT NULL,               -- how many rule_terms rows the rule has
    created_at     INTEGER NOT NULL
);

CREATE INDEX rules_by_chat ON rules (chat_id);
CREATE INDEX rules_with_voices ON rules (id) WHERE voices != '[]';

-- A rule as the terms a title must all have ('g:комедия', 'v:name', 'k:TV', 's:spring',
-- 'y:2024'; a rule of nothing has the one term '*', which every title has). The matcher keeps
-- the rules in memory, indexed by term (storage.rule_index), and reloads them when
-- `rules.version` below moved without it.
CREATE TABLE rule_terms (
    rule_id INTEGER NOT NULL REFERENCES rules (id) ON DELETE CASCADE,
    term    TEXT    NOT NULL,
    PRIMARY KEY (rule_id, term)
) WITHOUT ROWID;

-- Every rule added, removed or moved to another chat (cascades included) moves this counter.
INSERT INTO state (key, value) VALUES ('rules.version', '0');
CREATE TRIGGER rules_added AFTER INSERT ON rules BEGIN
    UPDATE state SET value = CAST(value AS INTEGER) + 1 WHERE key = 'rules.version';
END;
CREATE TRIGGER rules_removed AFTER DELETE ON rules BEGIN
    UPDATE state SET value = CAST(value AS INTEGER) + 1 WHERE key = 'rules.version';
END;
CREATE TRIGGER rules_moved AFTER UPDATE OF chat_id ON rules BEGIN
    UPDATE state SET value = CAST(value AS INTEGER) + 1 WHERE key = 'rules.version';
END;

-- Which chat a rule has told about which title: one notice per (chat, title), ever.
-- `batch` names the match that wrote the row (the notices of that match read it back, among
-- the title's rows).
CREATE TABLE rule_hits (
    title_id  INTEGER NOT NULL,
    chat_id   INTEGER NOT NULL REFERENCES chats (id) ON DELETE CASCADE ON UPDATE CASCADE,
    batch     INTEGER NOT NULL,
    subscribe INTEGER NOT NULL,
    thread_id INTEGER,
    at        INTEGER NOT NULL,
    PRIMARY KEY (title_id, chat_id)
) WITHOUT ROWID;

CREATE INDEX rule_hits_by_chat ON rule_hits (chat_id);
CREATE INDEX rule_hits_by_time ON rule_hits (at);

-- Whether a title is new on AniLibria: NULL until its first full snapshot decides, 0 for the
-- catalogue the bot found, 1 for a title new on AniLibria. Everything stored before this
-- migration is the catalogue.
ALTER TABLE titles ADD COLUMN novelty INTEGER;
ALTER TABLE titles ADD COLUMN created INTEGER;           -- the API's creation time (v1), or NULL
UPDATE titles SET novelty = 0;
