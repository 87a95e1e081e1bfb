-- Chats, what they follow, and the bot's local copy of titles.

CREATE TABLE chats (
    id          INTEGER PRIMARY KEY,          -- Telegram chat id
    type        TEXT    NOT NULL,             -- private, group, supergroup, channel
    title       TEXT,
    language    TEXT,                         -- NULL: the user's Telegram language, then the default
    seen_language TEXT,                       -- language_code of whoever spoke last (for notices)
    timezone    TEXT,                         -- NULL: DEFAULT_TIMEZONE
    active      INTEGER NOT NULL DEFAULT 1,   -- 0 after a 403 or a kick; back to 1 when it talks again
    kinds       INTEGER NOT NULL DEFAULT 3,   -- bit set of notice kinds (bot.notify.kinds)
    quiet_start TEXT,                         -- 'HH:MM' local, both NULL: no quiet hours
    quiet_end   TEXT,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
);

CREATE TABLE subscriptions (
    chat_id    INTEGER NOT NULL REFERENCES chats (id) ON DELETE CASCADE ON UPDATE CASCADE,
    title_id   INTEGER NOT NULL,
    thread_id  INTEGER,                       -- forum topic where /subscribe was given
    kinds      INTEGER,                       -- NULL: the chat's kinds
    created_at INTEGER NOT NULL,
    PRIMARY KEY (chat_id, title_id)
) WITHOUT ROWID;

-- "Which chats follow title X" without a scan.
CREATE INDEX subscriptions_by_title ON subscriptions (title_id, chat_id);

CREATE TABLE titles (
    id             INTEGER PRIMARY KEY,
    code           TEXT,
    name_ru        TEXT,
    name_en        TEXT,
    poster         TEXT,
    status_code    INTEGER,
    announce       TEXT,
    week_day       INTEGER,
    episodes_total INTEGER,
    last_episode   INTEGER,                   -- newest episode present in the player
    high_water     INTEGER NOT NULL DEFAULT 0,-- newest episode announced, or present when first seen
    torrents       TEXT,                      -- JSON signature of torrent (quality, series) pairs
    updated        INTEGER,                   -- the API's `updated`
    finished_at    INTEGER,                   -- when the bot saw status turn to 2
    first_seen     INTEGER NOT NULL,
    refreshed_at   INTEGER NOT NULL
);

CREATE INDEX titles_by_code ON titles (code);
CREATE INDEX titles_by_first_seen ON titles (first_seen);

-- Every announced episode: a repeat is never news, and the digest reads the last day from here.
CREATE TABLE announced (
    title_id     INTEGER NOT NULL,
    episode      INTEGER NOT NULL,
    announced_at INTEGER NOT NULL,
    PRIMARY KEY (title_id, episode)
) WITHOUT ROWID;

CREATE INDEX announced_by_time ON announced (announced_at);

CREATE TABLE state (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
) WITHOUT ROWID;
