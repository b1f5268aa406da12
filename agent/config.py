"""Agent settings (environment prefix ``MTA_``, also read from ``.env``).

Defaults point at the live site (spec §1); the replica is just another target
selected with ``MTA_BOOKING_URL`` / ``MTA_API_URL``.
"""

from __future__ import annotations

import os
from pathlib import Path
import json
import re
from typing import Annotated, Literal

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from .quiet_hours import parse_quiet_hours

REPO_ROOT = Path(__file__).resolve().parent.parent


def default_data_dir() -> Path:
    """Where the database and the recordings live unless MTA_DATA_DIR says otherwise: a per-user folder
    (``$XDG_DATA_HOME/mta``, i.e. ``~/.local/share/mta``), so ``mta`` finds its data from any folder."""
    env = os.environ.get("MTA_DATA_DIR")
    if env:
        return Path(env).expanduser()
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "mta"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="MTA_", env_file=".env", extra="ignore")

    booking_url: str = "https://stadt.muenchen.de/buergerservice/terminvereinbarung.html"
    api_url: str = "https://www48.muenchen.de/buergeransicht/api/citizen"
    selectors_dir: Path = Field(REPO_ROOT / "selectors", description="folder of locator data files")
    data_dir: Path = Field(default_factory=default_data_dir, description="the database and recordings live here")
    recordings_dir: Path | None = Field(None, description="default: <data dir>/recordings")
    database_url: str = Field("", description="default: sqlite:///<data dir>/mta.db")
    chromium_path: Path = Path("/usr/bin/chromium")
    chromium_extra_args: list[str] = Field(default_factory=list, description="extra Chromium switches "
                                           "(resource use only; never identity)")
    log_level: str = "INFO"
    log_format: Literal["human", "json"] = Field("human", description="human lines, or JSON lines for a log shipper")

    # Operations: health, readiness and Prometheus metrics of a running agent (mta run).
    metrics_port: int = Field(9310, ge=-1, le=65535, description="/health, /ready, /metrics (0: any free port, "
                              "-1: none)")
    metrics_host: str = Field("127.0.0.1", description="address of those endpoints (loopback by default)")
    ready_poll_age_s: float = Field(300.0, gt=0, description="/ready wants every query answered within this "
                                    "(or three poll intervals, if longer)")
    chromium_sandbox: Literal["auto", "on", "off"] = Field("auto", description="Chromium's own sandbox; auto: on "
                                                          "when not root and user namespaces work")

    # Traces (Playwright trace files of attempts; private, pruned after the retention).
    trace_attempts: bool = Field(True, description="record every attempt with Playwright tracing")
    trace_screenshots: bool = Field(False, description="add the screencast to traces (costly during the captcha)")
    keep_traces_on_success: bool = False
    trace_retention_days: int = Field(14, ge=0, le=3650, description="traces older than this are deleted")
    recordings_max_mb: float = Field(500.0, ge=0, description="the recordings folder's size limit (oldest first)")
    trace_viewer_host: str = "127.0.0.1"

    # The person booked for (contact details are used on the site's form only, never logged).
    person: str = Field("", description="a stable id of the person; default: derived from the e-mail")
    contact_first_name: str = ""
    contact_last_name: str = ""
    contact_email: str = ""
    contact_phone: str = ""

    # Rate budget: one per target site, for every request to its API.
    budget_requests: int = Field(6, ge=1, le=10_000, description="requests per budget window (about a person refreshing)")
    budget_window_s: float = Field(60.0, gt=0, le=86_400)
    budget_booking_burst: int = Field(12, ge=0, le=1000, description="extra requests a booking may use within a window")
    site_limit: int = Field(60, ge=2, le=1_000_000, description="the site's known per-IP limit (requests per site window)")
    site_window_s: float = Field(60.0, gt=0, le=86_400)
    backoff_s: float = Field(60.0, gt=0, le=86_400, description="first pause after a 429 without X-RateLimit-Reset")
    backoff_max_s: float = Field(900.0, gt=0, le=86_400)

    # Watching.
    token_refresh_margin_s: float = Field(30.0, ge=0, le=3600, description="renew the poll page's captcha token this long before "
                                          "it expires (a poll judges it right before sending)")
    warm_token_margin_s: float = Field(90.0, ge=0, le=3600, description="a warm page is renewed this long before its token "
                                       "expires (a booking on it must finish within the token)")
    warm_pages: int = Field(2, ge=0, le=10, description="pages kept ready to book (0: every booking is cold)")
    close_idle_browser: bool = Field(True, description="close Chromium while no page is open (between token "
                                     "renewals without warm pages); relaunched when needed")
    warm_check_s: float = Field(20.0, gt=0, description="how often warm pages are checked and renewed")
    refresh_s: float = Field(30.0, gt=0, description="how often a running agent re-reads the watches")
    stop_grace_s: float = Field(60.0, ge=0, description="on SIGTERM, how long a booking in flight may finish")
    poll_day_reads: int = Field(2, ge=0, le=31, description="days whose times one poll may read after its overview")
    poll_share: float = Field(0.8, gt=0, le=1, description="share of the budget polls may use (the rest: tokens, checks)")
    context_max_uses: int = Field(200, ge=1)
    context_max_age_s: float = Field(1800.0, gt=0)

    # Flow limits.
    step_timeout_s: float = Field(30.0, gt=0, le=3600)
    control_timeout_s: float = Field(10.0, gt=0, le=600, description="seconds a control may take to appear before 'site changed'")
    max_slot_tries: int = Field(5, ge=1, le=100)
    max_day_reads: int = Field(12, ge=1, le=400, description="calendar days a booking may read (one request each)")

    # Mailbox: the agent reads the city's activation e-mail over IMAP (docs/mailbox.md). Off without a host.
    imap_host: str = Field("", description="IMAP server (implicit TLS); empty: the agent reads no mail")
    imap_port: int = Field(993, ge=1, le=65535)
    imap_user: str = ""
    imap_password: SecretStr = Field(SecretStr(""), description="an app password; never logged or shown")
    imap_folder: str = "INBOX"
    imap_sender: str = Field("", description="accept activation mail only from this address (empty: any sender)")
    imap_ca_file: Path | None = Field(None, description="trust this CA/certificate too (a self-hosted server)")
    imap_timeout_s: float = Field(15.0, gt=0, description="one IMAP command's answer")
    imap_idle_s: float = Field(600.0, gt=0, description="an IDLE is renewed after this long (RFC 9051: < 30 min); "
                               "also how often the folder is searched again")
    imap_poll_s: float = Field(60.0, gt=0, description="search interval on a server without IDLE")
    imap_retry_s: float = Field(2.0, gt=0, description="look again this soon at an activation mail whose "
                                "booking is still finishing")
    imap_reconnect_s: float = Field(5.0, gt=0, description="first pause before reconnecting (doubles, capped)")
    imap_reconnect_max_s: float = 300.0
    imap_lookback_days: int = Field(2, ge=1, description="unseen mail this recent is searched")
    activation_remind_before_s: float = Field(900.0, ge=0, description="tell the person once when an activation "
                                              "deadline is this close and no mail has come")
    activation_check_s: float = Field(30.0, gt=0, description="how often activation deadlines are checked")

    # Telegram: the bot inside ``mta run`` (docs/telegram.md). Without a token, notices go to the console.
    telegram_token: SecretStr = Field(SecretStr(""), description="the bot's token from BotFather; never logged")
    telegram_allowed_chat_ids: Annotated[list[int], NoDecode] = Field(default_factory=list, description="chats that may use the bot "
                                                 "(JSON list or comma-separated); the admin may add more with /allow")
    telegram_admin_chat_id: int | None = Field(None, description="the admin's chat: /allow, /deny, /trace and "
                                               "operational alerts")
    telegram_base_url: str = Field("https://api.telegram.org", description="the Bot API server (tests: a local "
                                   "stand-in)")
    telegram_poll_timeout_s: float = Field(20.0, ge=0, le=600, description="long-polling wait of getUpdates")
    telegram_conversation_timeout_s: float = Field(900.0, gt=0, description="a /watch or /start conversation "
                                                   "left this long is ended")
    telegram_max_watches: int = Field(5, ge=1, le=100, description="watches one person may have")
    quiet_hours: str = Field("22:00-07:00", description="Munich time; found slots and trouble wait until it "
                             "ends (reserved, handoff and deadline notices never wait). Empty: none")
    notice_cooldown_s: float = Field(1800.0, ge=0, description="the same trouble notice at most once per this "
                                     "(per person); a found-slot notice per watch at most once per a tenth of it")
    digest_time: str = Field("20:00", description="Munich time of the daily digest (empty: none)")
    alert_circuit_s: float = Field(900.0, gt=0, description="the admin is alerted when the circuit stays open "
                                   "this long")

    @property
    def telegram_enabled(self) -> bool:
        return bool(self.telegram_token.get_secret_value())

    @property
    def mailbox_enabled(self) -> bool:
        return bool(self.imap_host)

    @field_validator("telegram_allowed_chat_ids", mode="before")
    @classmethod
    def _chat_ids(cls, value: object) -> object:
        """``[1, 2]`` or ``1,2`` (chat ids may be negative: groups)."""
        if isinstance(value, str):
            text = value.strip()
            if text.startswith("["):
                return json.loads(text)
            return [part.strip() for part in text.split(",") if part.strip()]
        return value

    @field_validator("quiet_hours", "digest_time")
    @classmethod
    def _clock_times(cls, value: str, info) -> str:
        value = value.strip()
        if info.field_name == "quiet_hours":
            parse_quiet_hours(value)  # the reading /quiet and the notice policy use; empty: none
        elif value and not re.fullmatch(r"([01]\d|2[0-3]):[0-5]\d", value):
            raise ValueError("expected HH:MM (Munich time), or empty")
        return value

    @model_validator(mode="after")
    def _budget_is_polite(self) -> Settings:
        from .budget import BudgetConfig, BudgetError

        try:
            BudgetConfig(requests=self.budget_requests, window_s=self.budget_window_s, site_limit=self.site_limit,
                         site_window_s=self.site_window_s).validate()
        except BudgetError as exc:
            raise ValueError(f"MTA_BUDGET_REQUESTS/MTA_BUDGET_WINDOW_S: {exc}") from None
        return self

    @model_validator(mode="after")
    def _in_data_dir(self) -> Settings:
        """Database and recordings default to the data directory (absolute paths: the working folder
        never decides which database ``mta`` uses)."""
        self.data_dir = self.data_dir.expanduser().resolve()
        if not self.database_url:
            self.database_url = f"sqlite:///{self.data_dir / 'mta.db'}"
        if self.recordings_dir is None:
            self.recordings_dir = self.data_dir / "recordings"
        return self


def get_settings() -> Settings:
    return Settings()


def settings_problems(exc: ValidationError) -> str:
    """One line naming each bad setting by its environment variable, and what is wrong with it."""
    parts = []
    for error in exc.errors():
        name = "MTA_" + "_".join(str(p) for p in error["loc"]).upper() if error["loc"] else "settings"
        parts.append(f"{name}: {error['msg']}")
    return "; ".join(parts)
