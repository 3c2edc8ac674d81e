"""Probes: the requests of polling, single GETs and list sweeps (D31), inside the budget.

Probes talk to a vertical's orders only through `OrderSource`, and tell what they learn
to `Findings` (the scheduler). Every request gets a sequence number when it starts, and
every order it shows is reported with that number, so the newest answer wins however the
answers arrive.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Mapping
from typing import Any, Protocol

import attrs

from .._transport.ratelimit import TokenBucket
from ..clock import Clock
from ..config import PollPolicy, Quota
from ..errors import APIConnectionError, OctopusError, RateLimitError, ServerError
from ..models._convert import read_id
from ..pagination import Walk
from .watches import Vertical, Watch

__all__ = ["Findings", "PollStats", "Probes"]

logger = logging.getLogger("octopus_async.waiting")

_TRANSIENT = (APIConnectionError, ServerError, RateLimitError)


@attrs.define
class PollStats:
    """What polling has cost so far: requests made and orders settled."""

    gets: int = 0
    sweeps: int = 0
    sweep_pages: int = 0
    settled: int = 0
    settled_after_webhook: int = 0  # by the fetch a webhook asked for

    @property
    def requests(self) -> int:
        return self.gets + self.sweep_pages


class Findings(Protocol):
    """Where probes report what they learn."""

    def seen(
        self, watch: Watch, order: Any, sequence: int, *, refreshed: bool, nudged: bool
    ) -> None:
        """`order` is the state of `watch`'s order as of request `sequence`; `refreshed`
        when a single GET told it, `nudged` when a webhook asked for that GET."""

    def get_needed(self, watch: Watch) -> None:
        """Only a GET of its own can tell `watch`'s state now."""

    def later(self, watch: Watch, error: OctopusError | None) -> None:
        """Nothing was learnt (a transient `error`, or the order is not visible yet)."""

    def stop(self, watch: Watch, error: OctopusError) -> None:
        """The server refused to tell: the waits on `watch` end with `error`."""

    def swept(self, vertical: Vertical, missed: list[Watch], *, complete: bool) -> None:
        """A sweep ended; `missed` are the watches it did not find."""


class Probes:
    """Single GETs and list sweeps for one scheduler, each inside its share of the budget."""

    def __init__(
        self,
        policy: PollPolicy,
        read_quota: Quota | None,
        findings: Findings,
        clock: Clock,
        stats: PollStats,
    ) -> None:
        self.stats = stats
        self._findings = findings
        self._sequence = itertools.count()
        self._gets = _share(read_quota, policy.budget_share * (1 - policy.sweep_share), clock)
        self._sweeps = _share(read_quota, policy.budget_share * policy.sweep_share, clock)

    def may_get(self) -> bool:
        """Take a GET's share of the budget if there is one now."""
        return self._gets is None or self._gets.try_take()

    def get_budget_wait(self) -> float:
        """Seconds until the budget allows another GET."""
        return 0.0 if self._gets is None else self._gets.wait()

    async def get(self, watch: Watch) -> None:
        """Fetch `watch`'s order by id, or find it by reference (then fetch it too when
        its list row does not tell all)."""
        source = watch.vertical.source
        # A webhook that arrives while this GET is in flight asks for another one after it.
        nudged, watch.nudged = watch.nudged, False
        sequence = next(self._sequence)
        try:
            self.stats.gets += 1
            if watch.order_id is not None:
                order = await source.get(watch.order_id)
            else:
                assert watch.client_reference is not None
                order = await source.find(watch.client_reference)
                if order is not None and not self._row_suffices(watch.vertical, order):
                    if self._gets is not None:  # a second request, paid for
                        await self._gets.take()
                    sequence = next(self._sequence)
                    self.stats.gets += 1
                    order = await source.get(order.id)
        except _TRANSIENT as error:
            self._findings.later(watch, error)
        except OctopusError as error:
            logger.warning("stopped waiting for %s order: %s", watch.vertical.name, error)
            self._findings.stop(watch, error)
        except Exception:
            logger.exception("poll for a %s order failed", watch.vertical.name)
            self._findings.later(watch, None)
        else:
            if order is None:  # created elsewhere and not visible yet: look again later
                self._findings.later(watch, None)
            else:
                self._findings.seen(watch, order, sequence, refreshed=True, nudged=nudged)

    async def sweep(self, vertical: Vertical) -> None:
        """Learn the states of every watched order of `vertical` from list pages (D31).

        Pages are newest first, so the sweep ends at the page that reaches back past the
        oldest watched order. Orders with a GET in flight are left to it; the orders a
        complete sweep did not find are reported missed (they need a GET of their own).
        """
        self.stats.sweeps += 1
        source = vertical.source
        unseen: dict[int, Watch] = {}
        by_reference: dict[str, Watch] = {}  # known by reference only: matched if listed
        for watch in vertical.watches:
            if watch.order_id is not None:
                unseen[watch.order_id] = watch
            elif watch.client_reference is not None:
                by_reference[watch.client_reference] = watch
        oldest = min(unseen, default=0)
        complete = False
        walk: Walk[Mapping[str, Any]] = Walk(_row_key)
        try:
            number = 1
            while unseen:
                if self._sweeps is not None:
                    await self._sweeps.take()
                sequence = next(self._sequence)
                page = await source.sweep_page(number)
                self.stats.sweep_pages += 1
                if walk.new(page.items, page.response.path) is None:
                    break  # the server repeats itself: what is unseen gets a GET
                for index, row in enumerate(page.items):
                    listed = _match(row, unseen, by_reference)
                    if listed is None:
                        continue
                    if listed.busy or listed.dropped:
                        _forget(listed, unseen, by_reference)  # its own GET is on the way
                        continue
                    try:
                        order = source.read_row(page, index)
                    except OctopusError as error:
                        logger.debug("unreadable %s order in a sweep: %s", vertical.name, error)
                        continue  # left unseen: it gets a GET of its own
                    _forget(listed, unseen, by_reference)
                    if source.lacks_detail(order):
                        self._findings.get_needed(listed)  # the list row is not enough
                    else:
                        self._findings.seen(listed, order, sequence, refreshed=False, nudged=False)
                last = read_id(page.items[-1].get("id")) if page.items else None
                if not page.has_next or (last is not None and last < oldest):
                    break
                number += 1
            complete = True
        except OctopusError as error:
            logger.debug("sweep of %s orders failed: %s", vertical.name, error)
        except Exception:
            logger.exception("sweep of %s orders failed", vertical.name)
        finally:
            missed = [*unseen.values(), *by_reference.values()]
            self._findings.swept(vertical, missed, complete=complete)

    @staticmethod
    def _row_suffices(vertical: Vertical, order: Any) -> bool:
        """Whether a list's copy of `order` tells all that a GET would."""
        policy = vertical.policy
        return (
            policy.sweepable
            and not policy.refresh_by_get
            and not vertical.source.lacks_detail(order)
        )


def _match(
    row: Mapping[str, Any], unseen: dict[int, Watch], by_reference: dict[str, Watch]
) -> Watch | None:
    """The watch a listed row is about, by id or else by reference."""
    row_id = read_id(row.get("id"))
    listed = unseen.get(row_id) if row_id is not None else None
    reference = row.get("client_reference")
    if listed is None and isinstance(reference, str):
        listed = by_reference.get(reference)
    return listed


def _forget(watch: Watch, unseen: dict[int, Watch], by_reference: dict[str, Watch]) -> None:
    if watch.order_id is not None:
        unseen.pop(watch.order_id, None)
    if watch.client_reference is not None:
        by_reference.pop(watch.client_reference, None)


def _row_key(row: Mapping[str, Any]) -> object:
    """What tells a listed row from the others: its id, or the whole row when the id
    cannot be read (a page that repeats such rows must still end the sweep)."""
    row_id = read_id(row.get("id"))
    return row_id if row_id is not None else repr(row)


def _share(quota: Quota | None, share: float, clock: Clock) -> TokenBucket | None:
    """A bucket for `share` of `quota`, or None when there is no quota to keep to."""
    if quota is None:
        return None
    return TokenBucket(
        Quota(max(1, round(quota.requests * share)), quota.period), headroom=0.0, clock=clock.time
    )
