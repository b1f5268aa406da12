"""The person's side of a booking through Telegram, against the replica and the Bot API stand-in:

    .venv/bin/python bench/telegram_path.py --runs 5

Each run: an auto-book watch of a person onboarded in the chat, a slot released; measured on the site's
and the stand-in's clocks:
- reserve answer → "reserved" message in the chat (the notice's way: policy, render, outbox, Bot API);
- link pasted in the chat → "confirmed" document with the .ics (the activation through the page);
- "I activated it" pressed → the bot's answer (one budgeted ``appointment/`` request).
Rate windows are compressed as in ``bench/hot_path.py``.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from datetime import datetime, time as dtime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import select  # noqa: E402

from agent.models import Attempt, Person  # noqa: E402
from agent.notifier import MemoryNotifier  # noqa: E402
from agent.service import AgentService  # noqa: E402
from bench.hot_path import settings_for  # noqa: E402
from flows.links import activation_link  # noqa: E402
from flows.request import Contact  # noqa: E402
from flows.timezone import BERLIN  # noqa: E402
from replica.server import ReplicaServer  # noqa: E402
from replica.settings import ReplicaSettings  # noqa: E402
from replica.site import Replica  # noqa: E402
from tests.bot_helpers import ANNA, bot_overrides, message_id_of, onboard, to  # noqa: E402
from tests.botapi_standin import BotApiStandIn  # noqa: E402


async def measure(runs: int) -> list[dict]:
    site = Replica(ReplicaSettings(rate_window_s=10, rate_limit=100_000))
    results = []
    with ReplicaServer(site) as server, tempfile.TemporaryDirectory() as tmp, BotApiStandIn() as standin:
        settings = settings_for(server, tmp, trace_attempts=False,
                                **bot_overrides(standin, telegram_allowed_chat_ids=list(range(ANNA, ANNA + runs))))
        async with AgentService(settings, MemoryNotifier()) as agent:
            today = site.clock.now_berlin().date()
            for n in range(runs):  # one person per run: a person holds one booking per service
                chat = ANNA + n
                await onboard(standin, chat, f"Person{n}", f"person{n}@example.org")
                with agent.sessions() as session:
                    person = session.scalars(select(Person).where(Person.chat_id == chat)).one()
                await agent.add_watch(Contact(person.first_name, person.last_name, person.email), 1063453, [102522],
                                      today, today + timedelta(days=60), key=person.key, chat_id=chat)
                while not all(s.poller.polls >= 1 for s in agent.watcher.queries.values()):
                    await asyncio.sleep(0.1)
                slot = int(datetime.combine(today + timedelta(days=3 + n), dtime(9, 0), BERLIN).timestamp())
                seen = len(standin.calls)
                site.desk.add_slots(102522, [slot])
                reserved = await standin.await_for(to(chat, "Reserved"), 120, since=seen)
                with agent.sessions() as session:
                    attempt = session.scalars(select(Attempt).order_by(Attempt.id.desc())).first()
                reserve_answered = attempt.reserved_at
                to_chat = time.time() - (time.monotonic() - reserved.at) - reserve_answered
                seen = len(standin.calls)
                pressed = time.monotonic()
                standin.press(chat, f"act:{attempt.id}", message_id_of(reserved))
                await standin.await_for(to(chat, "not activated yet"), 60, since=seen)
                check = time.monotonic() - pressed
                link = activation_link(settings.booking_url, attempt.process_id, attempt.auth_key)
                seen = len(standin.calls)
                pasted = time.monotonic()
                standin.send_text(chat, link, language_code="en")
                confirmed = await standin.await_for(to(chat, "Confirmed", method="sendDocument"), 120, since=seen)
                results.append({"toChat": to_chat, "check": check, "activation": confirmed.at - pasted})
                print(f"  run {n + 1}: reserve answer → chat {to_chat:.2f} s, 'I activated it' → answer "
                      f"{check:.2f} s, link pasted → confirmed with .ics {confirmed.at - pasted:.2f} s", flush=True)
    return results


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    results = asyncio.run(measure(parser.parse_args().runs))
    for key, words in (("toChat", "reserve answer → 'reserved' in the chat"),
                       ("check", "'I activated it' → the bot's answer"),
                       ("activation", "link pasted → 'confirmed' with the .ics")):
        values = [r[key] for r in results]
        print(f"{words}: median {statistics.median(values):.2f} s, max {max(values):.2f} s over {len(values)} runs")


if __name__ == "__main__":
    main()
