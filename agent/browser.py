"""Launching Debian's Chromium under Playwright, the same way everywhere.

The browser is what it is: no changed user agent, no hidden ``webdriver``
flag, no fingerprint tricks. The flags only keep Chromium off the closed
network (background services, component updates) and allow running as root.
"""

from __future__ import annotations

import os

from playwright.async_api import Browser, BrowserContext, Playwright

from .artifacts import work_folder
from .config import Settings

LAUNCH_FLAGS = ["--disable-background-networking", "--disable-component-update"]


def launch_args() -> list[str]:
    return LAUNCH_FLAGS + (["--no-sandbox"] if os.geteuid() == 0 else [])


async def launch_chromium(playwright: Playwright, settings: Settings) -> Browser:
    if not settings.chromium_path.exists():
        raise FileNotFoundError(f"Chromium not found at {settings.chromium_path}; install Debian's 'chromium' "
                                "package (scripts/setup.sh does) or set MTA_CHROMIUM_PATH")
    work = work_folder(settings.recordings_dir)  # trace parts stay private, never in the system temp folder
    return await playwright.chromium.launch(executable_path=str(settings.chromium_path),
                                            args=launch_args() + list(settings.chromium_extra_args),
                                            traces_dir=str(work), downloads_path=str(work))


async def new_site_context(browser: Browser) -> BrowserContext:
    """A context as a person in Munich would browse: German, Munich's timezone."""
    return await browser.new_context(locale="de-DE", timezone_id="Europe/Berlin")
