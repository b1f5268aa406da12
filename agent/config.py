"""Agent settings (environment prefix ``MTA_``, also read from ``.env``).

Defaults point at the live site (spec §1); the replica is just another target
selected with ``MTA_BOOKING_URL`` / ``MTA_API_URL``.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

REPO_ROOT = Path(__file__).resolve().parent.parent


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="MTA_", env_file=".env", extra="ignore")

    booking_url: str = "https://stadt.muenchen.de/buergerservice/terminvereinbarung.html"
    api_url: str = "https://www48.muenchen.de/buergeransicht/api/citizen"
    selectors_dir: Path = Field(REPO_ROOT / "selectors", description="folder of locator data files")
    recordings_dir: Path = REPO_ROOT / "recordings"
    database_url: str = "sqlite:///mta.db"
    chromium_path: Path = Path("/usr/bin/chromium")
    log_level: str = "INFO"

    # Traces (Playwright trace files of attempts; private, pruned after the retention).
    trace_attempts: bool = Field(True, description="record every attempt with Playwright tracing")
    keep_traces_on_success: bool = False
    trace_retention_days: int = 14
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
    token_refresh_margin_s: float = Field(60.0, description="renew the captcha token this long before it expires")
    poll_day_reads: int = Field(2, ge=0, description="days whose times one poll may read after its overview")
    poll_share: float = Field(0.8, description="share of the budget polls may use (the rest: tokens, checks)")
    context_max_uses: int = 200
    context_max_age_s: float = 1800.0

    # Flow limits.
    step_timeout_s: float = 30.0
    control_timeout_s: float = Field(10.0, description="seconds a control may take to appear before 'site changed'")
    max_slot_tries: int = 5
    max_day_reads: int = Field(12, ge=1, description="calendar days a booking may read (one request each)")


def get_settings() -> Settings:
    return Settings()
