"""Launching Debian's Chromium under Playwright, the same way everywhere.

The browser is what it is: no changed user agent, no hidden ``webdriver``
flag, no fingerprint tricks. The flags only keep Chromium off the closed
network (background services, component updates).

Chromium's own sandbox (``MTA_CHROMIUM_SANDBOX``): Playwright passes
``--no-sandbox`` unless asked otherwise, so until now the sandbox was always
off. ``auto`` (the default) turns it on where it can work: not as root
(Chromium refuses to run sandboxed as root) and where unprivileged user
namespaces can be created (Debian's Chromium has no setuid helper; its
sandbox is the namespace one). In the image, Docker's default seccomp profile
denies those namespaces, so it is off there and the container is the
boundary: a non-root uid, no capabilities, one site visited. ``on`` insists
(Chromium fails to start where it cannot), ``off`` never tries.
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess

from playwright.async_api import Browser, BrowserContext, Playwright

from .artifacts import work_folder
from .config import Settings

LAUNCH_FLAGS = ["--disable-background-networking", "--disable-component-update"]


@functools.cache
def user_namespaces_work() -> bool:
    """Whether this process may create the namespaces Chromium's sandbox uses (user, pid, net)."""
    unshare = shutil.which("unshare")
    if unshare is None:
        return False
    try:
        done = subprocess.run([unshare, "--user", "--map-root-user", "--pid", "--net", "--fork", "true"],
                              capture_output=True, timeout=5)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return done.returncode == 0


def sandbox_enabled(mode: str = "auto") -> bool:
    if mode in ("on", "off"):
        return mode == "on"
    return os.geteuid() != 0 and user_namespaces_work()


def launch_args(sandbox: bool | None = None) -> list[str]:
    sandbox = sandbox_enabled() if sandbox is None else sandbox
    return LAUNCH_FLAGS + ([] if sandbox else ["--no-sandbox"])


async def launch_chromium(playwright: Playwright, settings: Settings) -> Browser:
    if not settings.chromium_path.exists():
        raise FileNotFoundError(f"Chromium not found at {settings.chromium_path}; install Debian's 'chromium' "
                                "package (scripts/setup.sh does) or set MTA_CHROMIUM_PATH")
    sandbox = sandbox_enabled(settings.chromium_sandbox)
    work = work_folder(settings.recordings_dir)  # trace parts stay private, never in the system temp folder
    return await playwright.chromium.launch(executable_path=str(settings.chromium_path), chromium_sandbox=sandbox,
                                            args=launch_args(sandbox) + list(settings.chromium_extra_args),
                                            traces_dir=str(work), downloads_path=str(work))


async def new_site_context(browser: Browser) -> BrowserContext:
    """A context as a person in Munich would browse: German, Munich's timezone."""
    return await browser.new_context(locale="de-DE", timezone_id="Europe/Berlin")
