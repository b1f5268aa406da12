"""The site's timezone: every slot time is a Munich (Europe/Berlin) time."""

from datetime import date, datetime
from zoneinfo import ZoneInfo

BERLIN = ZoneInfo("Europe/Berlin")


def berlin_day(unix: float) -> date:
    """The Munich calendar day of a moment (a slot's day, the site's "today")."""
    return datetime.fromtimestamp(unix, BERLIN).date()
