"""Settings: one pydantic model read from the environment and an optional ``.env`` file."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

__all__ = ["DEFAULT_ANILIBRIA_API_URL", "DEFAULT_ANILIBRIA_WS_URL", "Settings"]

DEFAULT_ANILIBRIA_API_URL = "https://api.anilibria.tv/v2"
DEFAULT_ANILIBRIA_WS_URL = "wss://api.anilibria.tv/v2/ws/"


class Settings(BaseSettings):
    """Everything an operator can set. Names match the README's configuration table."""

    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    bot_token: SecretStr
    telegram_api_url: str = "https://api.telegram.org"
    anilibria_api_url: str = DEFAULT_ANILIBRIA_API_URL
    anilibria_ws_url: str = DEFAULT_ANILIBRIA_WS_URL
    anilibria_site_url: str = "https://www.anilibria.tv"
    database_path: Path = Path("data/bot.sqlite3")
    secret_key: SecretStr | None = None
    default_language: Literal["ru", "en"] = "ru"
    default_timezone: str = "Europe/Moscow"
    send_rate: float = Field(default=30.0, gt=0)
    admin_ids: Annotated[frozenset[int], NoDecode] = frozenset()
    log_level: str = "INFO"

    # Paid broadcasts (allow_paid_broadcast, 0.1 Star a message): opt-in, see bot/notify/paid.py.
    paid_broadcast: bool = False
    paid_broadcast_after: float = Field(default=60.0, ge=0)  # seconds of free-rate backlog
    paid_send_rate: float = Field(default=1000.0, gt=0)
    paid_broadcast_max_per_day: int = Field(default=50_000, ge=0)

    # Tuning knobs that tests shorten; operators rarely need them.
    ws_idle_timeout: float = Field(default=60.0, gt=0)
    ws_backoff_initial: float = Field(default=1.0, gt=0)
    ws_backoff_max: float = Field(default=60.0, gt=0)
    favorites_refresh_seconds: float = Field(default=900.0, gt=0)
    health_file: Path | None = None
    health_interval: float = Field(default=15.0, gt=0)  # heartbeat file rewritten this often
    health_max_age: float = Field(default=180.0, gt=0)  # `python -m bot.health` limit

    @field_validator("bot_token")
    @classmethod
    def _token_shape(cls, value: SecretStr) -> SecretStr:
        # Telegram tokens are "<bot id>:<secret>"; an empty BOT_TOKEN= from .env.example
        # should say so now, not as a traceback after the database was created.
        token = value.get_secret_value().strip()
        if not token:
            raise ValueError("BOT_TOKEN is empty")
        bot_id, _, secret = token.partition(":")
        if not bot_id.isdigit() or not secret or any(c.isspace() for c in secret):
            raise ValueError("not a Telegram bot token (expected <digits>:<secret>)")
        return SecretStr(token)

    @field_validator("admin_ids", mode="before")
    @classmethod
    def _split_admin_ids(cls, value: object) -> object:
        if isinstance(value, str):
            return frozenset(int(part) for part in value.replace(" ", "").split(",") if part)
        if isinstance(value, int):
            return frozenset({value})
        return value

    @field_validator("default_timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown timezone {value!r}") from exc
        return value

    @field_validator("telegram_api_url", "anilibria_api_url", "anilibria_site_url")
    @classmethod
    def _strip_slash(cls, value: str) -> str:
        return value.rstrip("/")

    @property
    def uses_default_anilibria(self) -> bool:
        return (
            self.anilibria_api_url == DEFAULT_ANILIBRIA_API_URL
            or self.anilibria_ws_url == DEFAULT_ANILIBRIA_WS_URL
        )
