"""Munich Termin Automator: watch → poll → match → book → record → notify."""

__version__ = "0.1.0"
