"""The agent's own API reads: asynchronous, inside the rate budget, never while the circuit is open."""

from __future__ import annotations


import pytest

from agent.budget import CHECK, BudgetConfig, RateBudget
from agent.site_api import SiteApi, SiteUnavailable
from flows.site_errors import SiteMeaning


def budget() -> RateBudget:
    return RateBudget(BudgetConfig(requests=6, window_s=60, site_limit=60, site_window_s=60))


async def test_requests_take_their_place_in_the_budget(server, replica) -> None:
    shared = budget()
    async with SiteApi(server.api_url, shared) as api:
        catalogue = await api.catalogue()
        status = await api.appointment(999, "nope")
    assert 1063453 in catalogue.services and 102522 in catalogue.offices_of[1063453]
    assert status.status == "gone"
    assert shared.counts == {CHECK: 2} and len(replica.requests.all()) == 2


async def test_nothing_leaves_while_the_circuit_is_open(server, replica) -> None:
    shared = budget()
    shared.observe(429, {})  # the site said "too many": the circuit opens for the backoff
    async with SiteApi(server.api_url, shared) as api:
        with pytest.raises(SiteUnavailable) as refused:
            await api.catalogue()
        status = await api.cancel(1, "x")
    assert refused.value.meaning is SiteMeaning.RATE_LIMITED
    assert status.status == "unknown" and "rate limited" in status.detail
    assert replica.requests.all() == []  # not one request reached the site


@pytest.mark.parametrize("fault", ["maintenance", "error500", "rate_limit"])
async def test_an_error_answer_is_never_an_empty_catalogue(server, replica, fault) -> None:
    from replica.faults import FaultRule

    replica.faults.add(FaultRule(kind=fault))
    async with SiteApi(server.api_url, budget()) as api:
        with pytest.raises(SiteUnavailable) as refused:
            await api.catalogue()
    expected = {"maintenance": SiteMeaning.MAINTENANCE, "error500": SiteMeaning.FAILURE,
                "rate_limit": SiteMeaning.RATE_LIMITED}[fault]
    assert refused.value.meaning is expected and "catalogue" in str(refused.value)


async def test_an_unreachable_site_says_where_it_looked() -> None:
    async with SiteApi("http://127.0.0.1:9/buergeransicht/api/citizen", budget()) as api:
        with pytest.raises(SiteUnavailable) as refused:
            await api.catalogue()
    assert "127.0.0.1:9" in str(refused.value) and refused.value.meaning is SiteMeaning.FAILURE


async def test_the_chat_search_lists_what_the_sites_search_lists(server, replica) -> None:
    """A service the city keeps off its start page (``showOnStartPage: false``) is not offered by /watch."""
    from agent.bot.watch_setup import find_services
    from replica.catalog import ABHOLUNG, PERSONALAUSWEIS

    replica.catalog.services[ABHOLUNG].show_on_start_page = False
    async with SiteApi(server.api_url, budget()) as api:
        catalogue = await api.catalogue()
    assert [sid for sid, _ in find_services(catalogue, "personalausweis")] == [PERSONALAUSWEIS]
    assert ABHOLUNG in catalogue.services  # still a service the agent can book by id
