"""Tokens from `/auth/login` and `/auth/refresh`."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import attrs

from ._convert import parse_datetime

__all__ = ["TokenSet"]


def _hidden(_: object) -> str:
    return "'***'"


@attrs.frozen
class TokenSet:
    """An access token and the refresh token issued with it. Tokens never show in `repr`.

    `to_dict` / `from_dict` give a JSON-safe form for token stores shared between processes.
    """

    access_token: str = attrs.field(repr=_hidden)
    refresh_token: str = attrs.field(repr=_hidden)
    access_expires_at: datetime | None = None
    refresh_expires_at: datetime | None = None
    client_id: int | None = None

    def to_dict(self) -> dict[str, Any]:
        """A JSON-safe dict, the inverse of `from_dict`."""
        return {
            "access_token": self.access_token,
            "refresh_token": self.refresh_token,
            "access_expires_at": _iso(self.access_expires_at),
            "refresh_expires_at": _iso(self.refresh_expires_at),
            "client_id": self.client_id,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TokenSet:
        """Rebuild a token set written by `to_dict`."""
        return cls(
            access_token=data["access_token"],
            refresh_token=data["refresh_token"],
            access_expires_at=_parse(data.get("access_expires_at")),
            refresh_expires_at=_parse(data.get("refresh_expires_at")),
            client_id=data.get("client_id"),
        )


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()


def _parse(text: str | None) -> datetime | None:
    return None if text is None else parse_datetime(text)
