"""A local, faithful stand-in for the City of Munich's appointment booking site.

The replica serves the same JSON API (``/buergeransicht/api/citizen/…``) as the
city's ``zmscitizenapi``; later modules add the booking page and captcha modes.
Nothing in ``agent/`` or ``flows/`` may know it talks to the replica.
"""
