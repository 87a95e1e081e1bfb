-- AniLibria accounts linked by users, and the favorites the bot mirrors for "follow my favorites".

CREATE TABLE sessions (
    user_id    INTEGER PRIMARY KEY,           -- Telegram user id
    ciphertext BLOB    NOT NULL,              -- the AniLibria session, encrypted (never plaintext)
    login      TEXT,                          -- the login given, NULL for a pasted session
    created_at INTEGER NOT NULL
);

CREATE TABLE favorites (
    user_id  INTEGER NOT NULL REFERENCES sessions (user_id) ON DELETE CASCADE,
    title_id INTEGER NOT NULL,
    PRIMARY KEY (user_id, title_id)
) WITHOUT ROWID;

CREATE INDEX favorites_by_title ON favorites (title_id, user_id);

-- A chat that follows a user's favorites.
ALTER TABLE chats ADD COLUMN follow_favorites_of INTEGER;
CREATE INDEX chats_by_favorites_user ON chats (follow_favorites_of)
    WHERE follow_favorites_of IS NOT NULL;
