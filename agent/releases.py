"""Which slots are releases: seen now, not visible in the query's previous successful poll.

The previous poll's slots are kept in SQLite (``query_state``), so a restart of
``mta run`` sees the same slots as before and records no release; only slots
that really appeared are observations, and the release-pattern analyzer
(``agent/patterns.py``) learns from those alone.
"""

from __future__ import annotations

import time

from sqlalchemy import update
from sqlalchemy.orm import Session, sessionmaker

from .models import Observation, QueryState
from .site_page import StreamKey

Slot = tuple[int, int]


def load_seen(sessions: sessionmaker[Session], key: StreamKey) -> set[Slot] | None:
    """The slots the query saw in its last successful poll; None if it was never polled (then its first
    poll is a baseline: what is visible then was released at an unknown time, and is no observation)."""
    with sessions() as session:
        row = session.get(QueryState, key.id)
        return {(int(o), int(t)) for o, t in row.seen} if row is not None else None


def record_poll(sessions: sessionmaker[Session], key: StreamKey, seen: set[Slot], new: set[Slot], gone: set[Slot],
                site_time: float) -> None:
    """One transaction: the slots now visible, the releases (new) and the slots gone since."""
    with sessions.begin() as session:
        row = session.get(QueryState, key.id)
        if row is None:
            session.add(QueryState(query=key.id, seen=sorted(seen), polled_at=time.time()))
        else:
            row.seen, row.polled_at = sorted(seen), time.time()
        for office_id, slot in new:
            session.add(Observation(service_id=key.service_id, office_id=office_id, slot_ts=slot,
                                    first_seen=site_time))
        for office_id, slot in gone:
            session.execute(update(Observation)
                            .where(Observation.service_id == key.service_id, Observation.office_id == office_id,
                                   Observation.slot_ts == slot, Observation.gone_at.is_(None))
                            .values(gone_at=site_time))
