"""Settings: one pydantic model read from the environment and an optional ``.env`` file."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

__all__ = ["DEFAULT_URLS", "DEFAULT_V2_WS_URL", "Settings"]

# ANILIBRIA_API picks the upstream; its URLs default per API (the same data, other hosts).
DEFAULT_URLS: dict[str, tuple[str, str]] = {  # api -> (ANILIBRIA_API_URL, ANILIBRIA_SITE_URL)
    "v1": ("https://aniliberty.top/api/v1", "https://aniliberty.top"),
    "v2": ("https://api.anilibria.tv/v2", "https://www.anilibria.tv"),
}
DEFAULT_V2_WS_URL = "wss://api.anilibria.tv/v2/ws/"


class Settings(BaseSettings):
    """Everything an operator can set. Names match the README's configuration table."""

    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    bot_token: SecretStr
    telegram_api_url: str = "https://api.telegram.org"
    anilibria_api: Literal["v1", "v2"] = "v1"
    anilibria_api_url: str = ""  # empty: the default of ANILIBRIA_API
    anilibria_site_url: str = ""
    anilibria_ws_url: str = DEFAULT_V2_WS_URL  # v2 only
    poll_interval: float = Field(default=30.0, gt=0)  # v1 only: seconds between polls
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
    login_code_poll_seconds: float = Field(default=3.0, gt=0)  # v1: "was the code entered?"
    videos_poll_seconds: float = Field(default=900.0, gt=0)  # AniLibria's videos are polled
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

    @model_validator(mode="after")
    def _default_urls(self) -> Settings:
        api_url, site_url = DEFAULT_URLS[self.anilibria_api]
        self.anilibria_api_url = self.anilibria_api_url or api_url
        self.anilibria_site_url = self.anilibria_site_url or site_url
        return self

    @property
    def uses_dead_v2(self) -> bool:
        """v2 pointed at the public v2 servers, which were switched off in July 2025."""
        return self.anilibria_api == "v2" and (
            self.anilibria_api_url == DEFAULT_URLS["v2"][0]
            or self.anilibria_ws_url == DEFAULT_V2_WS_URL
        )
