"""Building blocks shared by every model: open enums and the raw JSON field."""

from __future__ import annotations

import inspect
from collections.abc import Mapping
from typing import Any, ClassVar, TypeVar

import attrs

__all__ = ["OpenEnum", "aliased_field", "local_field", "raw_field", "secret_field"]


E = TypeVar("E", bound="OpenEnum")


class OpenEnum(str):
    """A string enum that accepts values it does not know (D9).

    Known values are class attributes declared as ``NAME: ClassVar[Self]``; each is set to
    the string ``"NAME"`` unless `_values` maps it to another wire value. Any other string
    is kept as it came, with `is_known` False, so a new server value never raises.
    """

    __slots__ = ()
    _values: ClassVar[Mapping[str, str]] = {}
    _known: ClassVar[frozenset[str]] = frozenset()
    _folded: ClassVar[Mapping[str, OpenEnum]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        names = [name for name in inspect.get_annotations(cls) if name.isupper()]
        for name in names:
            setattr(cls, name, cls(cls._values.get(name, name)))
        cls._known = frozenset(str(getattr(cls, name)) for name in names)
        cls._folded = {str(getattr(cls, name)).casefold(): getattr(cls, name) for name in names}

    @classmethod
    def known(cls) -> frozenset[str]:
        """The values the SDK was written for."""
        return cls._known

    @classmethod
    def lookup(cls: type[E], text: str) -> E:
        """The known value that `text` names in any letter case and spacing, else `text` as
        it came."""
        known = cls._folded.get(text.strip().casefold())
        return known if known is not None else cls(text)  # type: ignore[return-value]

    @property
    def is_known(self) -> bool:
        """Whether this value is one the SDK was written for."""
        return str(self) in type(self)._known

    def __repr__(self) -> str:
        return f"{type(self).__name__}({str.__repr__(self)})"


def raw_field() -> Any:
    """The `raw` attribute: the JSON object as received, set by the converter (D8)."""
    return attrs.field(init=False, factory=dict, repr=False, eq=False)


def local_field(default: Any) -> Any:
    """An attribute the SDK sets itself; never read from the JSON."""
    return attrs.field(default=default, kw_only=True, metadata={"local": True})


def _hidden(value: object) -> str:
    return "None" if value is None else "'***'"


def aliased_field(*aliases: str, required: bool = False) -> Any:
    """An attribute that the JSON may also carry under one of `aliases` (another naming
    of an undocumented shape); None by default, unless `required` (an identifying field)."""
    metadata = {"aliases": aliases}
    if required:
        return attrs.field(metadata=metadata)
    return attrs.field(default=None, metadata=metadata)


def secret_field() -> Any:
    """An optional string that must never show in `repr` (a code, a PIN, a claim URL)."""
    return attrs.field(default=None, repr=_hidden)
