"""AsyncPaginator: walk a paginated list endpoint item by item or page by page."""

from __future__ import annotations

import logging
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Mapping, Sequence
from typing import Any, Generic, TypeVar

import attrs
from multidict import CIMultiDictProxy

from ._transport.http import APIResponse
from .errors import InvalidRequestError

__all__ = ["AsyncPaginator", "Page", "PageSpec", "Walk"]

T = TypeVar("T")

logger = logging.getLogger("octopus_async.pagination")


@attrs.frozen
class PageSpec:
    """How one endpoint pages (D4): the page-size parameter's name and its bounds."""

    size_param: str
    max_size: int
    default_size: int = 100


@attrs.frozen
class Page(Generic[T]):
    """One page of a list, with the pagination headers the server sent (None when absent)."""

    # Untyped pages (a sweep's raw rows) would show voucher codes: the repr counts instead.
    items: tuple[T, ...] = attrs.field(repr=lambda items: f"<{len(items)} items>")
    number: int
    requested_size: int
    response: APIResponse = attrs.field(repr=False)

    @property
    def headers(self) -> CIMultiDictProxy[str]:
        return self.response.headers

    @property
    def request_id(self) -> str | None:
        return self.response.request_id

    @property
    def page(self) -> int | None:
        return _int_header(self.headers, "X-Page", minimum=1)

    @property
    def per_page(self) -> int | None:
        return _int_header(self.headers, "X-Per-Page", minimum=1)

    @property
    def total_count(self) -> int | None:
        return _int_header(self.headers, "X-Total-Count", minimum=0)

    @property
    def total_pages(self) -> int | None:
        return _int_header(self.headers, "X-Total-Pages", minimum=0)

    @property
    def has_more(self) -> bool | None:
        value = self.headers.get("X-Has-More", "").strip().lower()
        return {"true": True, "false": False}.get(value)

    @property
    def has_next(self) -> bool:
        """Whether another page should be fetched (D5).

        `X-Has-More` decides when present; else `X-Page` against `X-Total-Pages`; else a
        short page ends the list. An empty page always ends it. Headers with values out of
        their range (a negative page size) are ignored.
        """
        if not self.items:
            return False
        if self.has_more is not None:
            return self.has_more
        page, total_pages = self.page, self.total_pages
        if page is not None and total_pages is not None:
            return page < total_pages
        return len(self.items) >= (self.per_page or self.requested_size)


def _int_header(headers: CIMultiDictProxy[str], name: str, *, minimum: int) -> int | None:
    text = headers.get(name, "").strip()
    # ASCII digits only: `isdigit` also takes "²" and "①", which `int` refuses.
    if not (text.isascii() and text.isdigit()) or len(text) > 18:
        return None
    value = int(text)
    return value if value >= minimum else None


class Walk(Generic[T]):
    """The item ids seen in one walk of a list (D5).

    An item seen before is dropped, so none is yielded twice; a page that brings no new
    id ends the walk, with one WARNING, so that a server ignoring `page` (sending the same
    page forever) cannot make it endless.
    """

    def __init__(self, key: Callable[[T], object]) -> None:
        self._key = key
        self._seen: set[object] = set()

    def new(self, items: Sequence[T], path: str) -> list[T] | None:
        """The items of a page of `path` not seen before in this walk; None when the walk
        must end."""
        fresh = []
        for item in items:
            key = self._key(item)
            if key is None:
                fresh.append(item)  # no id to tell it by: taken as it comes
            elif key not in self._seen:
                self._seen.add(key)
                fresh.append(item)
        if items and not fresh:
            logger.warning(
                "%s: a page brought no item not seen earlier in this walk (the server may "
                "ignore the page number); the walk ends here",
                path,
            )
            return None
        return fresh


FetchPage = Callable[[Mapping[str, Any]], Awaitable[APIResponse]]


class AsyncPaginator(Generic[T]):
    """Items of a list endpoint, fetched a page at a time as you iterate.

    ``async for item in paginator`` walks every page; ``paginator.pages()`` yields `Page`
    objects with their headers; ``await paginator.first_page()`` fetches only the first.
    Each iteration starts again from `start_page`.
    """

    def __init__(
        self,
        fetch: FetchPage,
        item_type: type[T],
        spec: PageSpec,
        *,
        page_size: int | None = None,
        start_page: int = 1,
        transform: Callable[[T], T] | None = None,
    ) -> None:
        size = spec.default_size if page_size is None else page_size
        if isinstance(size, bool) or not isinstance(size, int) or not 1 <= size <= spec.max_size:
            raise InvalidRequestError(
                f"page_size must be an integer from 1 to {spec.max_size}, got {size!r}",
                param="page_size",
            )
        if isinstance(start_page, bool) or not isinstance(start_page, int) or start_page < 1:
            raise InvalidRequestError(
                f"start_page must be a positive integer, got {start_page!r}", param="start_page"
            )
        self._fetch = fetch
        self._item_type = item_type
        self._spec = spec
        self._size = size
        self._start = start_page
        self._transform = transform

    def __aiter__(self) -> AsyncIterator[T]:
        return self._items()

    async def _items(self) -> AsyncIterator[T]:
        async for page in self.pages():
            for item in page.items:
                yield item

    async def pages(self) -> AsyncGenerator[Page[T], None]:
        """Every page in order, from `start_page` until the server says there are no more.

        An item already seen in this walk is left out of later pages, and a page that
        brings nothing new ends the walk (D5).
        """
        walk: Walk[T] = Walk(_item_id)
        number = self._start
        while True:
            page = await self._get(number)
            fresh = walk.new(page.items, page.response.path)
            if fresh is None:
                return
            has_next = page.has_next  # judged on the page as sent, repeats included
            if len(fresh) < len(page.items):
                page = attrs.evolve(page, items=tuple(fresh))
            yield page
            if not has_next:
                return
            number += 1

    async def first_page(self) -> Page[T]:
        """Only the first page (`start_page`)."""
        return await self._get(self._start)

    async def _get(self, number: int) -> Page[T]:
        response = await self._fetch({"page": number, self._spec.size_param: self._size})
        items: tuple[T, ...] = response.parse(
            tuple[self._item_type, ...]  # type: ignore[name-defined]
        )
        if self._transform is not None:
            items = tuple(map(self._transform, items))
        return Page(items, number, self._size, response)


def _item_id(item: object) -> object:
    return getattr(item, "id", None)
