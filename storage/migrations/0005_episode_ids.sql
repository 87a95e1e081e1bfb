-- Episodes by the API's own id (AniLiberty v1 keys episodes by UUID; v2 by number, and leaves
-- this table empty). An episode is news when its id is new, it is playable and its ordinal was
-- not announced: a new id for a known ordinal is a re-upload. Ordinals may be fractional (12.5);
-- announced.episode, titles.last_episode and titles.high_water hold such numbers as they are.

CREATE TABLE episodes (
    title_id   INTEGER NOT NULL,
    episode_id TEXT    NOT NULL,
    ordinal    REAL    NOT NULL,
    playable   INTEGER NOT NULL,
    seen_at    INTEGER NOT NULL,
    PRIMARY KEY (title_id, episode_id)
) WITHOUT ROWID;

-- The device id the bot gives AniLiberty when a user links their account by a one-time code:
-- one per Telegram user, kept so that the site shows one "device" however often they log in.
CREATE TABLE login_devices (
    user_id    INTEGER PRIMARY KEY,
    device_id  TEXT    NOT NULL,
    created_at INTEGER NOT NULL
);
