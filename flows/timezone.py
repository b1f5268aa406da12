"""The site's timezone: every slot time is a Munich (Europe/Berlin) time."""

from zoneinfo import ZoneInfo

BERLIN = ZoneInfo("Europe/Berlin")
