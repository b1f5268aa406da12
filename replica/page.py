"""The booking page and the web component's script, as the city serves them.

``/buergerservice/terminvereinbarung.html`` embeds
``<zms-appointment base-url=… show-login-option="false">`` loaded by a classic
``<script src=".../zms-appointment-webcomponent/loader.js">``. The script is
built from ``replica/web`` by ``scripts/setup.sh`` (never committed).
"""

from __future__ import annotations

import json
from html import escape
from pathlib import Path

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

WEB_DIST = Path(__file__).resolve().parent / "web" / "dist" / "zms-appointment-webcomponent"
PAGE_PATH = "/buergerservice/terminvereinbarung.html"

_TEMPLATE = """<!DOCTYPE html>
<html lang="de">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Terminvereinbarung – Bürgerservice – Landeshauptstadt München</title>
{head}<script src="{script}"></script>
</head>
<body>
<header><p>Landeshauptstadt München – Bürgerservice</p></header>
<main>
<h1>Terminvereinbarung</h1>
{missing}
<zms-appointment base-url="{base}" show-login-option="false"></zms-appointment>
</main>
</body>
</html>
"""


# The site owner's test setting for FriendlyCaptcha (replica only, off by
# default): before the widget loads, the page presents the browser profile the
# widget's check inspects, as a site owner would to let its own test browsers
# through. The agent never does this; it hands the captcha to the person.
_SITE_OWNER_TEST_PROFILE = """<script>
(() => {
  const ua = navigator.userAgent.replace(/Headless/g, "");
  const proto = Object.getPrototypeOf(navigator);
  Object.defineProperty(proto, "webdriver", { get: () => false, configurable: true });
  Object.defineProperty(proto, "userAgent", { get: () => ua, configurable: true });
  Object.defineProperty(proto, "appVersion", { get: () => ua.replace(/^Mozilla\\//, ""), configurable: true });
})();
</script>
"""


def _head(replica) -> str:
    parts = []
    if replica.switches.redesign:
        config = json.dumps(replica.switches.redesign).replace("</", "<\\/")
        parts.append(f"<script>window.__ZMS_REPLICA_VARIANT__ = {config};</script>\n")
    if replica.captcha_mode == "friendly" and replica.allow_automated_browsers:
        parts.append(_SITE_OWNER_TEST_PROFILE)
    return "".join(parts)


async def booking_page(request: Request) -> Response:
    replica = request.app.state.replica
    origin = str(request.base_url).rstrip("/")
    base = origin + replica.settings.api_prefix.removesuffix("/api/citizen")
    missing = "" if (WEB_DIST / "loader.js").exists() else (
        "<p><strong>The replica's web component is not built: run scripts/setup.sh.</strong></p>"
    )
    html = _TEMPLATE.format(script="/zms-appointment-webcomponent/loader.js", base=escape(base), missing=missing,
                            head=_head(replica))
    return HTMLResponse(html, headers={"Cache-Control": "no-store"})


def page_routes() -> list[BaseRoute]:
    return [
        Route(PAGE_PATH, booking_page),
        Mount(
            "/zms-appointment-webcomponent",
            app=StaticFiles(directory=WEB_DIST, check_dir=False),
            name="webcomponent",
        ),
    ]
