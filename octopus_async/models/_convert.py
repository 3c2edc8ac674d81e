"""The one cattrs converter: exact money, aware UTC times, open enums, raw JSON kept."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta, timezone
from decimal import Decimal, InvalidOperation
from typing import Any, TypeVar, get_args, get_origin

import attrs
import cattrs
from cattrs.cols import homogenous_tuple_structure_factory
from cattrs.gen import make_dict_structure_fn, override
from cattrs.v import format_exception

from ._base import OpenEnum

__all__ = ["ShapeError", "converter", "evolve", "parse_datetime", "structure"]

T = TypeVar("T")

converter = cattrs.Converter()


class ShapeError(ValueError):
    """A JSON value did not fit its model; `field` is a dotted path, `reason` says why.

    Neither names the offending value, which may be a secret (a voucher code, a PIN).
    """

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field or 'body'}: {reason}")
        self.field = field
        self.reason = reason


def structure(data: Any, cls: type[T]) -> T:
    """Structure JSON into `cls`, raising `ShapeError` for the first value that does not fit."""
    try:
        return converter.structure(data, cls)
    except cattrs.BaseValidationError as exc:
        message = cattrs.transform_error(exc, path="$", format_exception=_describe)[0]
        reason, _, path = message.rpartition(" @ ")
        raise ShapeError(_dotted(path), reason) from None
    except (ValueError, TypeError) as exc:
        raise ShapeError("", str(exc) if isinstance(exc, _Reason) else "unexpected shape") from None


def _describe(exc: BaseException, type_: Any) -> str:
    if isinstance(exc, _Reason):
        return str(exc)
    return format_exception(exc, type_)


def _dotted(path: str) -> str:
    return path.removeprefix("$").removeprefix(".")


class _Reason(ValueError):
    """A hook's explanation, safe to show (it never contains the value)."""


def _strict(kind: type[Any], label: str) -> Callable[[Any, Any], Any]:
    def hook(value: Any, _: Any) -> Any:
        if isinstance(value, bool) and kind is not bool:
            raise _Reason(f"expected {label}")
        if not isinstance(value, kind):
            raise _Reason(f"expected {label}")
        return value

    return hook


# cattrs would call str(None) or int(4.5) and carry on; a wrong type must be an error.
converter.register_structure_hook(str, _strict(str, "a string"))
converter.register_structure_hook(int, _strict(int, "an integer"))
converter.register_structure_hook(bool, _strict(bool, "a boolean"))


def _structure_decimal(value: Any, _: Any) -> Decimal:
    if isinstance(value, bool):
        raise _Reason("expected a number")
    if isinstance(value, Decimal):
        number = value
    elif isinstance(value, int):
        number = Decimal(value)
    elif isinstance(value, str):
        try:
            number = Decimal(value.strip())
        except InvalidOperation:
            raise _Reason("expected a decimal number") from None
    elif isinstance(value, float):
        number = Decimal(repr(value))
    else:
        raise _Reason("expected a number")
    if not number.is_finite():
        raise _Reason("expected a finite number")
    return number


converter.register_structure_hook(Decimal, _structure_decimal)

_RFC3339 = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:[.,](\d+))?"
    r"(?:([Zz])|([+-])(\d{2}):?(\d{2}))?",
    re.ASCII,
)


def parse_datetime(text: str) -> datetime:
    """RFC 3339 to an aware UTC datetime (D7); a value without an offset is taken as UTC."""
    text = text.strip()
    match = _RFC3339.fullmatch(text)
    if match is None:
        raise _Reason("expected an RFC 3339 timestamp")
    if match.group(9) and (int(match.group(10)) > 23 or int(match.group(11)) > 59):
        raise _Reason("expected a valid UTC offset")  # fromisoformat takes +05:99
    try:
        # The common case, ten times faster; Python 3.10 refuses a "Z" and takes the long way.
        moment = datetime.fromisoformat(text)
    except ValueError:
        return _build_datetime(match)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc)


def _build_datetime(match: re.Match[str]) -> datetime:
    year, month, day, hour, minute, second = (int(g) for g in match.group(1, 2, 3, 4, 5, 6))
    fraction, sign = match.group(7), match.group(9)
    micro = int((fraction or "0")[:6].ljust(6, "0"))
    tz = timezone.utc
    if sign:
        offset = timedelta(hours=int(match.group(10)), minutes=int(match.group(11)))
        tz = timezone(-offset if sign == "-" else offset)
    try:
        moment = datetime(year, month, day, hour, minute, second, micro, tzinfo=tz)
    except ValueError:
        raise _Reason("expected a valid date and time") from None
    return moment.astimezone(timezone.utc)


def _structure_datetime(value: Any, _: Any) -> datetime:
    if not isinstance(value, str):
        raise _Reason("expected an RFC 3339 timestamp")
    return parse_datetime(value)


converter.register_structure_hook(datetime, _structure_datetime)


def _structure_open_enum(value: Any, cls: type[OpenEnum]) -> OpenEnum:
    if not isinstance(value, str):
        raise _Reason("expected a string")
    return cls(value)


# Dispatch on the class (not a predicate) so that it wins over the str hook for subclasses.
converter.register_structure_hook(OpenEnum, _structure_open_enum)


def _strict_tuple_factory(cls: Any, conv: cattrs.Converter) -> Callable[[Any, Any], Any]:
    inner = homogenous_tuple_structure_factory(cls, conv)

    def hook(value: Any, type_: Any) -> Any:
        if not isinstance(value, list):
            raise _Reason("expected a JSON array")
        return inner(value, type_)

    return hook


def _is_homogeneous_tuple(cls: Any) -> bool:
    args = get_args(cls)
    return get_origin(cls) is tuple and len(args) == 2 and args[1] is Ellipsis


converter.register_structure_hook_factory(_is_homogeneous_tuple, _strict_tuple_factory)


def _has_raw(cls: Any) -> bool:
    return attrs.has(cls) and "raw" in attrs.fields_dict(cls)


def _model_factory(cls: Any, conv: cattrs.Converter) -> Callable[[Any, Any], Any]:
    local = {a.name: override(omit=True) for a in attrs.fields(cls) if a.metadata.get("local")}
    inner = make_dict_structure_fn(cls, conv, **local)  # type: ignore[arg-type]

    def hook(value: Any, type_: Any) -> Any:
        if not isinstance(value, Mapping):
            raise _Reason("expected a JSON object")
        model = inner(value, type_)
        # Frozen models: `raw` is init=False, set once here (the attrs-documented way).
        object.__setattr__(model, "raw", value)
        return model

    return hook


converter.register_structure_hook_factory(_has_raw, _model_factory)


def evolve(model: T, **changes: Any) -> T:
    """`attrs.evolve` for models: the copy keeps the JSON it was read from in `raw`."""
    copy = attrs.evolve(model, **changes)  # type: ignore[misc]
    object.__setattr__(copy, "raw", model.raw)  # type: ignore[attr-defined]
    return copy
