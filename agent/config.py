"""Agent settings (environment prefix ``MTA_``, also read from ``.env``).

Defaults point at the live site (spec §1); the replica is just another target
selected with ``MTA_BOOKING_URL`` / ``MTA_API_URL``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

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
    trace_retention_days: int = Field(14, ge=0, description="traces older than this are deleted")
    recordings_max_mb: float = Field(500.0, ge=0, description="the recordings folder's size limit (oldest first)")
    trace_viewer_host: str = "127.0.0.1"

    # The person booked for (contact details are used on the site's form only, never logged).
    person: str = Field("", description="a stable id of the person; default: derived from the e-mail")
    contact_first_name: str = ""
    contact_last_name: str = ""
    contact_email: str = ""
    contact_phone: str = ""

    # Rate budget: one per target site, for every request to its API.
    budget_requests: int = Field(6, description="requests per budget window (about a person refreshing)")
    budget_window_s: float = 60.0
    budget_booking_burst: int = Field(12, description="extra requests a booking may use within a window")
    site_limit: int = Field(60, description="the site's known per-IP limit (requests per site window)")
    site_window_s: float = 60.0
    backoff_s: float = Field(60.0, description="first pause after a 429 without X-RateLimit-Reset")
    backoff_max_s: float = 900.0

    # Watching.
    token_refresh_margin_s: float = Field(30.0, description="renew the poll page's captcha token this long before "
                                          "it expires (a poll judges it right before sending)")
    warm_token_margin_s: float = Field(90.0, description="a warm page is renewed this long before its token "
                                       "expires (a booking on it must finish within the token)")
    warm_pages: int = Field(2, ge=0, description="pages kept ready to book (0: every booking is cold)")
    warm_check_s: float = Field(20.0, gt=0, description="how often warm pages are checked and renewed")
    refresh_s: float = Field(30.0, gt=0, description="how often a running agent re-reads the watches")
    stop_grace_s: float = Field(60.0, ge=0, description="on SIGTERM, how long a booking in flight may finish")
    poll_day_reads: int = Field(2, ge=0, description="days whose times one poll may read after its overview")
    poll_share: float = Field(0.8, description="share of the budget polls may use (the rest: tokens, checks)")
    context_max_uses: int = 200
    context_max_age_s: float = 1800.0

    # Flow limits.
    step_timeout_s: float = 30.0
    control_timeout_s: float = Field(10.0, description="seconds a control may take to appear before 'site changed'")
    max_slot_tries: int = 5
    max_day_reads: int = Field(12, ge=1, description="calendar days a booking may read (one request each)")


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
