"""Hostile input at every edge: settings, CLI arguments, links, and whatever JSON the site might send.

Property-based (hypothesis): whatever comes in, the agent answers with its own clear refusal — a
ValidationError named by setting, a BadLink, SiteUnavailable, a one-line usage error — never a traceback.
"""

from __future__ import annotations

import asyncio
import base64
import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError
from typer.testing import CliRunner

from agent.cli import app
from agent.config import Settings, settings_problems
from agent.site_api import SiteApi, SiteUnavailable
from flows.links import BadLink, parse_link
from replica.faults import FaultRule

SITE = "https://stadt.muenchen.de/buergerservice/terminvereinbarung.html"
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4),
    max_leaves=20,
)
# what an environment variable or a command line can carry (no NUL, no lone surrogates)
ARG_TEXT = st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=25)
NUMERIC_SETTINGS = ["budget_requests", "budget_window_s", "site_limit", "step_timeout_s", "warm_pages",
                    "max_day_reads", "trace_retention_days", "poll_share", "backoff_s"]


@settings(max_examples=200, deadline=None)
@given(name=st.sampled_from(NUMERIC_SETTINGS), value=ARG_TEXT | st.integers().map(str))
def test_any_setting_value_is_accepted_or_refused_by_name(name, value) -> None:
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(f"MTA_{name.upper()}", value)
        try:
            Settings()
        except ValidationError as exc:
            line = settings_problems(exc)
            assert f"MTA_{name.upper()}" in line or "MTA_BUDGET_REQUESTS" in line
            assert "\n" not in line


def _link(payload: object) -> str:
    code = base64.b64encode(json.dumps(payload).encode()).decode()
    return f"{SITE}#/appointment/confirm/{code}"


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=300) | json_values.map(_link))
def test_any_link_is_parsed_or_refused(link) -> None:
    try:
        process_id, auth_key = parse_link(link, SITE)
    except BadLink as exc:
        assert str(exc)
        return
    assert 1 <= process_id < 2**31 and auth_key


def test_a_link_to_another_site_is_refused_before_it_is_opened() -> None:
    link = _link({"id": 5, "authKey": "ab12"}).replace("stadt.muenchen.de", "muenchen.evil.example")
    with pytest.raises(BadLink, match="not to the booking site"):
        parse_link(link, SITE)
    assert parse_link(_link({"id": 5, "authKey": "ab12"}), SITE) == (5, "ab12")


runner = CliRunner()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(command=st.sampled_from([["watch", "pause"], ["watch", "delete"], ["trace"], ["attempts", "--limit"]]),
       value=ARG_TEXT | st.integers().map(str))
def test_any_id_argument_is_parsed_or_refused_in_one_line(tmp_path, command, value) -> None:
    result = runner.invoke(app, [*command, value], env={"MTA_DATA_DIR": str(tmp_path), "MTA_TRACE_VIEWER_HOST": "x"})
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    assert "Traceback" not in result.output


catalogue_like = st.fixed_dictionaries({
    "services": st.lists(json_values | st.fixed_dictionaries({"id": json_values, "maxQuantity": json_values}),
                         max_size=3),
    "relations": st.lists(json_values | st.fixed_dictionaries({"officeId": json_values, "serviceId": json_values}),
                          max_size=3),
})


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=json_values | catalogue_like)
def test_any_catalogue_json_is_read_or_refused(server, replica, body) -> None:
    """The replica serves arbitrary JSON as ``offices-and-services/``; the agent reads a catalogue from it
    or says the site failed — never a KeyError or TypeError from deep inside."""
    replica.faults.rules.clear()
    replica.faults.add(FaultRule(kind="malformed", path="offices-and-services", body=body))

    async def read():
        async with SiteApi(server.api_url) as api:
            return await api.catalogue()

    try:
        catalogue = asyncio.run(read())
    except SiteUnavailable as exc:
        assert str(exc)
        return
    assert all(isinstance(k, int) and isinstance(v, int) for k, v in catalogue.services.items())
