"""How long the real ALTCHA widget needs in headless Chromium at the replica's cost.

The city's captcha takes ~2 s in Chromium (spec §4); the replica's default
``MTA_REPLICA_ALTCHA_COST`` is calibrated against this figure.

    .venv/bin/python bench/altcha_solve.py [--cost N] [--runs 5]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time

from playwright.async_api import async_playwright

from replica.server import ReplicaServer
from replica.settings import ReplicaSettings
from replica.site import Replica

ARGS = ["--disable-background-networking", "--disable-component-update", "--no-sandbox"]


async def solve_once(browser, base_url: str) -> float:
    page = await browser.new_page(locale="de-DE", timezone_id="Europe/Berlin")
    await page.goto(f"{base_url}/buergerservice/terminvereinbarung.html#/services/1063453")
    label = page.locator("altcha-widget").get_by_text("Ich bin kein Bot.")
    await label.wait_for()
    started = time.perf_counter()
    await label.click()
    await page.locator("altcha-widget .altcha[data-state=verified]").wait_for(state="attached", timeout=120_000)
    elapsed = time.perf_counter() - started
    await page.close()
    return elapsed


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cost", type=int, default=ReplicaSettings().altcha_cost)
    parser.add_argument("--runs", type=int, default=5)
    options = parser.parse_args()
    site = Replica(ReplicaSettings(altcha_cost=options.cost, rate_limit=10_000))
    with ReplicaServer(site) as server:
        async with async_playwright() as pw:
            browser = await pw.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
            times = [await solve_once(browser, server.base_url) for _ in range(options.runs)]
            await browser.close()
    print(f"ALTCHA cost {options.cost}: median {statistics.median(times):.2f} s, "
          f"min {min(times):.2f} s, max {max(times):.2f} s over {len(times)} solves "
          f"(widget click → verified, incl. challenge + verify requests)")


if __name__ == "__main__":
    asyncio.run(main())
