"""``mta doctor``: can the agent run here? Each check passes or fails with a reason and a fix.

Checks run in order and never change anything (no directory is created, no
migration applied): the configuration, the data directory, the database's
schema, Playwright's driver, Chromium, the Telegram token (when one is set)
and the target site. A failed check that the agent needs makes the command
exit non-zero, so ``mta doctor`` works as a container or CI pre-flight.
"""

from __future__ import annotations

import asyncio
import os
from dataclasses import dataclass
from pathlib import Path

import httpx

from .browser import launch_args, sandbox_enabled
from .config import Settings

TIMEOUT_S = 30.0


@dataclass(frozen=True)
class Result:
    name: str
    ok: bool
    detail: str
    needed: bool = True  # a failure here means the agent cannot work


def configuration(settings: Settings) -> Result:
    return Result("configuration", True, f"booking page {settings.booking_url}; API {settings.api_url}; "
                  f"budget {settings.budget_requests} per {settings.budget_window_s:g} s")


def data_directory(settings: Settings) -> Result:
    data = settings.data_dir
    if data.exists():
        if os.access(data, os.W_OK | os.X_OK):
            return Result("data directory", True, f"{data} (writable)")
        return Result("data directory", False, f"{data} is not writable by uid {os.geteuid()}: chown it or set "
                      "MTA_DATA_DIR")
    parent = next(p for p in data.parents if p.exists())
    if os.access(parent, os.W_OK | os.X_OK):
        return Result("data directory", True, f"{data} (created at first use)")
    return Result("data directory", False, f"{data} cannot be created ({parent} is not writable)")


def database(settings: Settings) -> Result:
    """The schema's revision against the migrations this version ships (read only)."""
    from alembic.config import Config
    from alembic.script import ScriptDirectory
    from sqlalchemy import create_engine
    from sqlalchemy.exc import SQLAlchemyError

    from alembic.runtime.migration import MigrationContext

    from .db import MIGRATIONS, _sqlite_file

    path = _sqlite_file(settings.database_url)
    if path is not None and not path.exists():
        return Result("database", True, f"{path} (created and migrated at first use)")
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    heads = set(ScriptDirectory.from_config(config).get_heads())
    try:
        engine = create_engine(settings.database_url)
        with engine.connect() as connection:
            current = set(MigrationContext.configure(connection).get_current_heads())
        engine.dispose()
    except SQLAlchemyError as exc:
        return Result("database", False, f"cannot be read: {str(exc).splitlines()[0]}")
    where = path or settings.database_url
    if current == heads:
        return Result("database", True, f"{where} (schema current: {', '.join(sorted(heads))})")
    script = ScriptDirectory.from_config(config)
    known = {rev.revision for rev in script.walk_revisions()}
    if current <= known:
        return Result("database", True, f"{where} (schema {', '.join(sorted(current)) or 'empty'}; migrated to "
                      f"{', '.join(sorted(heads))} at the next start)")
    return Result("database", False, f"{where} has schema {', '.join(sorted(current))}, unknown to this version "
                  "(written by a newer mta?)")


async def browser(settings: Settings) -> list[Result]:
    """Playwright's driver (its bundled Node), then Debian's Chromium launched through it."""
    from playwright.async_api import Error as PlaywrightError
    from playwright.async_api import async_playwright

    from .browser import launch_chromium

    sandbox = "on" if sandbox_enabled(settings.chromium_sandbox) else "off"
    try:
        manager = async_playwright()
        playwright = await asyncio.wait_for(manager.__aenter__(), TIMEOUT_S)
    except Exception as exc:  # noqa: BLE001 - a driver that cannot start fails in many ways (missing libatomic…)
        return [Result("playwright driver", False, f"does not start: {_first_line(exc)}"),
                Result("chromium", False, "not tried (no driver)")]
    results = [Result("playwright driver", True, "starts")]
    try:
        if not Path(settings.chromium_path).exists():
            results.append(Result("chromium", False, f"{settings.chromium_path} does not exist: install Debian's "
                                  "'chromium' package (scripts/setup.sh does) or set MTA_CHROMIUM_PATH"))
            return results
        try:
            chromium = await asyncio.wait_for(launch_chromium(playwright, settings), TIMEOUT_S)
            version = chromium.version
            await chromium.close()
            results.append(Result("chromium", True, f"{settings.chromium_path} {version} starts (sandbox {sandbox}; "
                                  f"flags {' '.join(launch_args(sandbox == 'on'))})"))
        except (PlaywrightError, asyncio.TimeoutError, OSError) as exc:
            results.append(Result("chromium", False, f"{settings.chromium_path} does not start: {_first_line(exc)}"))
    finally:
        await manager.__aexit__(None, None, None)
    return results


async def telegram(settings: Settings) -> Result:
    """getMe with the configured token, on the configured Bot API (the bot's own check at start)."""
    from .bot.app import base_urls

    token = settings.telegram_token.get_secret_value()
    if not token:
        return Result("telegram", True, "no MTA_TELEGRAM_TOKEN: notices go to the console", needed=False)
    base, _ = base_urls(settings.telegram_base_url)
    try:
        async with httpx.AsyncClient(timeout=10) as client:
            answer = await client.get(f"{base}{token}/getMe")
        body = answer.json()
    except (httpx.HTTPError, ValueError) as exc:
        return Result("telegram", False, f"the Bot API at {settings.telegram_base_url} did not answer: "
                      f"{type(exc).__name__}")
    if answer.status_code == 200 and body.get("ok"):
        admin = settings.telegram_admin_chat_id
        return Result("telegram", True, f"token valid (bot @{body['result'].get('username', '?')}); "
                      f"{len(settings.telegram_allowed_chat_ids)} allowed chat(s), "
                      + ("admin chat set" if admin is not None else "no MTA_TELEGRAM_ADMIN_CHAT_ID (no /allow, "
                                                                   "no alerts)"))
    return Result("telegram", False, f"the Bot API refused the token ({answer.status_code} "
                  f"{body.get('description', '')}); check MTA_TELEGRAM_TOKEN")


async def site(settings: Settings) -> Result:
    """One request to the site's API (the catalogue the booking page loads first)."""
    url = settings.api_url.rstrip("/") + "/offices-and-services/"
    try:
        async with httpx.AsyncClient(timeout=15) as client:
            answer = await client.get(url, headers={"Accept": "application/json"})
    except httpx.HTTPError as exc:
        return Result("target site", False, f"{url} did not answer: {_first_line(exc) or type(exc).__name__}")
    if answer.status_code == 200:
        return Result("target site", True, f"{settings.api_url} answers")
    return Result("target site", False, f"{url} answered {answer.status_code}")


async def run_checks(settings: Settings) -> list[Result]:
    results = [configuration(settings), data_directory(settings), database(settings)]
    results += await browser(settings)
    results += [await telegram(settings), await site(settings)]
    return results


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [""])[0]
