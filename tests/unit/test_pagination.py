"""Pagination (D4, D5): when `Page.has_next` says go on, the page headers, and how
`AsyncPaginator` validates its size, calls its fetch function and stops."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs
import pytest
from support import API
from support import api_response as response

from octopus_async import APIResponseValidationError, AsyncPaginator, InvalidRequestError, Page
from octopus_async._transport.http import APIResponse
from octopus_async.pagination import PageSpec

SPEC_500 = PageSpec(size_param="limit", max_size=500)


def page(count: int, requested: int = 10, **headers: str) -> Page[int]:
    named = {name.replace("_", "-"): value for name, value in headers.items()}
    return Page(tuple(range(count)), 1, requested, response(list(range(count)), named))


# --- Page.has_next (D5) ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("current", "expected"),
    [
        # X-Has-More decides when present.
        (page(3, X_Has_More="true"), True),
        (page(10, X_Has_More="false"), False),
        (page(10, X_Has_More="FALSE"), False),
        (page(3, X_Has_More=" True "), True),
        (page(10, X_Has_More="true", X_Page="5", X_Total_Pages="5"), True),
        (page(10, X_Has_More="false", X_Page="1", X_Total_Pages="5"), False),
        # Else X-Page against X-Total-Pages.
        (page(3, X_Page="1", X_Total_Pages="3"), True),
        (page(10, X_Page="3", X_Total_Pages="3"), False),
        (page(10, X_Page="4", X_Total_Pages="3"), False),
        (page(10, X_Page="1", X_Total_Pages="0"), False),
        # Else a short page ends the list; X-Per-Page beats the requested size.
        (page(10), True),
        (page(9), False),
        (page(5, X_Per_Page="5"), True),
        (page(10, X_Per_Page="20"), False),
        (page(10, X_Page="2"), True),  # X-Page alone does not decide
        (page(9, X_Total_Pages="4"), False),
        # An empty page always ends it.
        (page(0, X_Has_More="true"), False),
        (page(0, X_Page="1", X_Total_Pages="9"), False),
    ],
)
def test_has_next(current, expected):
    assert current.has_next is expected


@pytest.mark.parametrize(
    ("current", "expected"),
    [
        (page(10, X_Has_More="yes"), True),  # unreadable: the size rule decides
        (page(9, X_Has_More="1"), False),
        (page(10, X_Has_More=""), True),
        (page(9, X_Page="one", X_Total_Pages="3"), False),
        (page(10, X_Page="3", X_Total_Pages="3.0"), True),
        (page(10, X_Per_Page="lots"), True),
        (page(9, X_Per_Page="lots"), False),
        # Out of range: ignored, so a negative size cannot defeat the short-page stop.
        (page(9, X_Per_Page="-5"), False),
        (page(9, X_Per_Page="0"), False),
        (page(9, X_Page="0", X_Total_Pages="3"), False),
        (page(9, X_Page="-1", X_Total_Pages="3"), False),
        (page(9, X_Per_Page="9" * 5000), False),
    ],
)
def test_malformed_headers_are_ignored(current, expected):
    assert current.has_next is expected


def test_page_exposes_its_headers():
    current = page(
        5,
        X_Page="2",
        X_Per_Page="5",
        X_Total_Count="12",
        X_Total_Pages="3",
        X_Has_More="true",
    )

    assert (current.page, current.per_page, current.total_count, current.total_pages) == (
        2,
        5,
        12,
        3,
    )
    assert current.has_more is True
    assert current.request_id == "req-1"
    assert current.headers["x-total-count"] == "12"


def test_a_page_of_raw_rows_keeps_their_codes_out_of_its_repr():
    rows = ({"id": 1, "vouchers": [{"card_number": "CARD-SECRET", "pin_code": "PIN-9876"}]},)
    current = Page(rows, 1, 100, response(list(rows)))

    assert repr(current) == "Page(items=<1 items>, number=1, requested_size=100)"
    assert current.items == rows


def test_missing_or_malformed_headers_read_as_none():
    current = page(5, X_Total_Count="many", X_Has_More="maybe")

    assert current.page is None
    assert current.per_page is None
    assert current.total_count is None
    assert current.total_pages is None
    assert current.has_more is None


# --- AsyncPaginator ---------------------------------------------------------------------------

SPEC = PageSpec(size_param="limit", max_size=500)


class Server:
    """A scripted list endpoint: one (items, headers) pair per page, then empty pages."""

    def __init__(self, *pages: tuple[list[Any], dict[str, str]]) -> None:
        self.pages = pages
        self.requests: list[dict[str, Any]] = []

    async def fetch(self, params: Mapping[str, Any]) -> APIResponse:
        self.requests.append(dict(params))
        number = params["page"]
        items, headers = self.pages[number - 1] if number <= len(self.pages) else ([], {})
        return response(items, headers)

    @property
    def page_numbers(self) -> list[int]:
        return [request["page"] for request in self.requests]


@pytest.mark.parametrize("page_size", [0, -1, 501, True, False, "10", 10.0, [10]], ids=repr)
def test_invalid_page_size_is_rejected_before_any_fetch(page_size):
    server = Server()

    with pytest.raises(InvalidRequestError) as caught:
        AsyncPaginator(server.fetch, int, SPEC, page_size=page_size)

    assert caught.value.param == "page_size"
    assert server.requests == []


@pytest.mark.parametrize("start_page", [0, -2, True, 1.0])
def test_invalid_start_page_is_rejected(start_page):
    with pytest.raises(InvalidRequestError) as caught:
        AsyncPaginator(Server().fetch, int, SPEC, start_page=start_page)

    assert caught.value.param == "start_page"


async def test_default_and_maximum_sizes_are_accepted():
    server = Server(([1], {}))

    await AsyncPaginator(server.fetch, int, SPEC).first_page()
    await AsyncPaginator(server.fetch, int, SPEC, page_size=500).first_page()

    assert [r["limit"] for r in server.requests] == [SPEC.default_size, 500]


async def test_iteration_walks_pages_until_has_more_is_false():
    server = Server(
        ([1, 2, 3], {"X-Has-More": "true"}),
        ([4, 5, 6], {"X-Has-More": "true"}),
        ([7], {"X-Has-More": "false"}),
        ([99], {}),
    )

    items = [item async for item in AsyncPaginator(server.fetch, int, SPEC, page_size=3)]

    assert items == [1, 2, 3, 4, 5, 6, 7]
    assert server.requests == [
        {"page": 1, "limit": 3},
        {"page": 2, "limit": 3},
        {"page": 3, "limit": 3},
    ]


async def test_the_endpoint_size_parameter_is_used():
    server = Server(([1, 2], {}))
    paginator = AsyncPaginator(server.fetch, int, PageSpec("per_page", 500), page_size=5)

    assert [item async for item in paginator] == [1, 2]
    assert server.requests == [{"page": 1, "per_page": 5}]


async def test_iteration_stops_at_the_last_page_by_the_totals():
    server = Server(
        ([1], {"X-Page": "1", "X-Total-Pages": "2"}),  # short, but more pages are announced
        ([2], {"X-Page": "2", "X-Total-Pages": "2"}),
        ([3], {}),
    )

    items = [item async for item in AsyncPaginator(server.fetch, int, SPEC, page_size=3)]

    assert items == [1, 2]
    assert server.page_numbers == [1, 2]


async def test_iteration_stops_on_a_short_page_without_headers():
    server = Server(([1, 2], {}), ([3], {}), ([4, 5], {}))

    items = [item async for item in AsyncPaginator(server.fetch, int, SPEC, page_size=2)]

    assert items == [1, 2, 3]
    assert server.page_numbers == [1, 2]


async def test_iteration_stops_on_an_empty_page_even_if_more_is_announced():
    server = Server(
        ([1, 2], {"X-Has-More": "true"}),
        ([], {"X-Has-More": "true"}),
        ([3, 4], {"X-Has-More": "true"}),
    )

    items = [item async for item in AsyncPaginator(server.fetch, int, SPEC, page_size=2)]

    assert items == [1, 2]
    assert server.page_numbers == [1, 2]


async def test_each_iteration_starts_again():
    server = Server(([1, 2], {"X-Has-More": "true"}), ([3], {"X-Has-More": "false"}))
    paginator = AsyncPaginator(server.fetch, int, SPEC, page_size=2)

    first = [item async for item in paginator]
    second = [item async for item in paginator]

    assert first == second == [1, 2, 3]
    assert server.page_numbers == [1, 2, 1, 2]


async def test_start_page_is_where_iteration_begins():
    server = Server(([1], {}), ([2, 3], {}), ([4], {}))

    items = [i async for i in AsyncPaginator(server.fetch, int, SPEC, page_size=2, start_page=2)]

    assert items == [2, 3, 4]
    assert server.page_numbers == [2, 3]


async def test_first_page_fetches_once():
    server = Server(([1, 2], {"X-Has-More": "true"}), ([3], {}))

    first = await AsyncPaginator(server.fetch, int, SPEC, page_size=2).first_page()

    assert first.items == (1, 2)
    assert first.number == 1
    assert first.has_next
    assert server.requests == [{"page": 1, "limit": 2}]


async def test_pages_yields_pages_with_their_metadata():
    server = Server(
        ([1, 2], {"X-Page": "1", "X-Per-Page": "2", "X-Total-Count": "3", "X-Total-Pages": "2"}),
        ([3], {"X-Page": "2", "X-Per-Page": "2", "X-Total-Count": "3", "X-Total-Pages": "2"}),
    )

    pages = [p async for p in AsyncPaginator(server.fetch, int, SPEC, page_size=2).pages()]

    assert [p.items for p in pages] == [(1, 2), (3,)]
    assert [p.number for p in pages] == [1, 2]
    assert [p.total_count for p in pages] == [3, 3]
    assert [p.total_pages for p in pages] == [2, 2]
    assert [p.requested_size for p in pages] == [2, 2]
    assert all(isinstance(p, Page) for p in pages)


async def test_an_item_that_cannot_be_read_is_left_out_and_the_page_goes_on(caplog):
    server = Server((["not-an-int", 7], {}))

    page = await AsyncPaginator(server.fetch, int, SPEC).first_page()

    assert page.items == (7,)
    assert "could not be read" in caplog.text


async def test_a_page_that_is_not_a_list_raises_validation_error():
    server = Server(({"items": [1, 2]}, {}))

    with pytest.raises(APIResponseValidationError):
        await AsyncPaginator(server.fetch, int, SPEC).first_page()


async def test_fetch_errors_propagate():
    async def broken(params: Mapping[str, Any]) -> APIResponse:
        raise ConnectionResetError("gone")

    with pytest.raises(ConnectionResetError):
        [item async for item in AsyncPaginator(broken, int, SPEC)]


# --- an endpoint's page spec (D4) ------------------------------------------------------------


async def test_transactions_accept_up_to_ten_thousand_per_page(wire_client):
    wire_client.wallets.transactions(page_size=10_000)

    with pytest.raises(InvalidRequestError):
        wire_client.wallets.transactions(page_size=10_001)


async def test_transactions_send_limit_and_page(wire, wire_client):
    wire.get(f"{API}/api/v1/transactions?limit=25&page=1&wallet_id=3", payload=[])

    items = [t async for t in wire_client.wallets.transactions(wallet_id=3, page_size=25)]

    assert items == []
    [(_, url)] = [key for key in wire.requests if key[0] == "GET"]
    assert url.query == {"limit": "25", "page": "1", "wallet_id": "3"}


@attrs.frozen
class Row:
    """A listed item: every list endpoint's items have an id."""

    id: int


async def test_a_walk_ends_when_a_page_brings_nothing_new(caplog):
    # A server that ignores `page` answers the same full page forever, saying there is more.
    server = Server(*[([{"id": 1}, {"id": 2}], {"X-Has-More": "true"})] * 1000)

    items = [item async for item in AsyncPaginator(server.fetch, Row, SPEC_500, page_size=2)]

    assert [item.id for item in items] == [1, 2]  # never the same item twice
    assert server.page_numbers == [1, 2]  # the second page repeats the first: the walk ends
    assert "brought no item not seen earlier" in caplog.text


async def test_a_page_partly_repeating_the_last_yields_only_the_new_items():
    server = Server(
        ([{"id": 1}, {"id": 2}], {"X-Has-More": "true"}),
        ([{"id": 2}, {"id": 3}], {"X-Has-More": "false"}),
    )

    paginator = AsyncPaginator(server.fetch, Row, SPEC_500, page_size=2)
    pages = [page async for page in paginator.pages()]

    assert [[item.id for item in page.items] for page in pages] == [[1, 2], [3]]
    assert server.page_numbers == [1, 2]
