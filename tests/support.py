"""Helpers shared by the tests (importable as `support`)."""

from __future__ import annotations

import inspect
from typing import Any
from unittest.mock import Mock

import aiohttp
from aioresponses import aioresponses

from octopus_async import RetryPolicy

# Retries that wait milliseconds, not seconds, so retry paths run fast.
FAST_RETRY = RetryPolicy(initial_backoff=0.001, max_backoff=0.01)

# aioresponses 0.7.9 builds ClientResponse without the `stream_writer` argument that
# aiohttp 3.14 requires (pnuckowski/aioresponses#289; fixes #288/#290/#292 unreleased).
# Delete this shim once a fixed release ships.
_NEEDS_STREAM_WRITER = (
    "stream_writer" in inspect.signature(aiohttp.ClientResponse.__init__).parameters
)


class _CompatResponse(aiohttp.ClientResponse):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        if _NEEDS_STREAM_WRITER:
            kwargs.setdefault("stream_writer", Mock(output_size=0))
        super().__init__(*args, **kwargs)


class CompatAioresponses(aioresponses):
    def add(self, url: Any, method: str = "GET", **kwargs: Any) -> None:  # type: ignore[override]
        kwargs.setdefault("response_class", _CompatResponse)
        super().add(url, method, **kwargs)


API = "http://api.test"
LOGIN_BODY = {
    "success": True,
    "data": {
        "access_token": "access-1",
        "refresh_token": "refresh-1",
        "access_expires_at": "2999-01-01T00:00:00Z",
        "refresh_expires_at": "2999-01-08T00:00:00Z",
        "client_id": 42,
    },
}
