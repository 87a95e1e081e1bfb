# anilibria-bot: one process, one SQLite file in /app/data (a volume), run as uid 10001.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    DATABASE_PATH=/app/data/bot.sqlite3

WORKDIR /app
# The versions pinned in constraints.txt (a fresh resolve, the same ones .ci/run tests): the
# image builds the same today and next month.
COPY constraints.txt pyproject.toml README.md ./
COPY bot ./bot
COPY storage ./storage
RUN pip install --constraint constraints.txt . \
    && useradd --system --uid 10001 --home-dir /app --shell /usr/sbin/nologin bot \
    && mkdir -p /app/data \
    && chown bot:bot /app/data \
    && chmod 700 /app/data

USER bot
VOLUME ["/app/data"]

# Unhealthy when the bot has not heard Telegram (getUpdates) or AniLibria (a poll on v1, the
# socket on v2) for HEALTH_MAX_AGE seconds (180), when rows are due in the outbox and none was
# delivered in that time, or when its heartbeat file (/app/data/health.json) went stale.
HEALTHCHECK --interval=30s --timeout=10s --start-period=60s --retries=3 \
    CMD ["python", "-m", "bot.health"]

# Exit codes (README, "Exit codes"): 0 stopped, 1 crashed, 2 configuration, 3 token rejected,
# 4 another bot holds the database.
CMD ["python", "-m", "bot"]
