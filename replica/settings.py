"""Replica settings (environment prefix ``MTA_REPLICA_``).

Every duration the city's backend enforces is a setting here, so CI can
compress time; the defaults reproduce what ``docs/replica-contract.md``
records of the live site.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class ReplicaSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="MTA_REPLICA_", env_file=".env", extra="ignore")

    host: str = "127.0.0.1"
    port: int = 8765
    api_prefix: str = "/buergeransicht/api/citizen"

    # Captcha (ALTCHA v2 as the city serves it).
    captcha_enabled: bool = True
    altcha_algorithm: str = "SHA-256"
    altcha_cost: int = Field(
        1200,
        description="SHA-256 iterations per attempt; with key prefix '00' (1 in 256) the "
        "real widget needs ~2 s in headless Chromium (bench/altcha_solve.py: median 1.94 s "
        "over 12 solves), as on the city's site.",
    )
    altcha_key_prefix: str = "00"
    altcha_challenge_ttl_s: int = 600
    altcha_hmac_secret: str = "replica-altcha-hmac-secret-change-me-0001"
    # FriendlyCaptcha v1 mode (the city's captcha from January to May 2025).
    captcha_mode: Literal["altcha", "friendly"] = "altcha"
    frc_site_key: str = "FCMREPLICA0000000"
    frc_secret: str = "replica-friendlycaptcha-secret-change-me-01"
    frc_solutions: int = Field(16, description="sub-puzzles per puzzle (n)")
    frc_difficulty: int = Field(120, description="difficulty byte d (threshold 2^((255.999-d)/8))")
    frc_expiry_units: int = Field(2, description="puzzle lifetime in units of 300 s")
    frc_allow_automated_browsers: bool = Field(
        False,
        description="site owner's test option: the page prepares the browser profile the widget "
        "inspects so automated browsers pass its check (replica only)",
    )
    token_secret: str = "replica-captcha-token-secret-change-me-0001"
    token_lifetime_s: int = 300

    # Rate limit per client IP (the city's default).
    rate_limit: int = 60
    rate_window_s: int = 60

    # Process lifecycle (minutes, as the city's scope fields carry them).
    reservation_duration_min: int = 15
    activation_duration_min: int = 60
    cancelled_kept_min: int = Field(15, description="minutes a cancelled appointment stays on record (the city's "
                                    "scope 'loeschdauer'): its old key answers authKeyMismatch until then")

    # Availability.
    max_future_days: int = 182
    mails_per_address: int = Field(3, description="live processes one e-mail may hold")

    # The activation e-mail (replica/mail.py): delivered when a server is named, always kept in the outbox.
    mail_url: str = Field("", description="lmtp://host:port or smtp://host:port; empty: outbox only")
    mail_from: str = Field("Terminvereinbarung <noreply@replica.invalid>",
                           description="the sender of the city's mails is configuration there, not code")

    # Faults: how long a "timeout" fault holds a request before answering.
    fault_hang_s: float = 120.0

    clock_speed: float = Field(1.0, description="replica seconds per wall second (>= 1)")
