"""Reading JSON into models, tolerantly (D40): the one cattrs converter.

A model's attributes without a default identify it (an order's `id` and `status`, a list
item's `id`, the tokens of a login); if one of them cannot be read, the answer is refused
with `ShapeError`. Every other attribute is read leniently: a value of another type is
coerced when its meaning is unambiguous (numbers sent as strings, a date without a time,
other ISO 8601 forms, a number where text is expected kept as its exact text), and is
otherwise left at its default (None) and reported as a `Problem`. In a list, an item whose
identifying attributes cannot be read is left out and reported. `raw` keeps the JSON as
received.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable, Mapping
from contextvars import ContextVar
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Any, NamedTuple, TypeVar, get_args, get_origin

import attrs
import cattrs

from ._base import OpenEnum

__all__ = [
    "FieldWarnings",
    "OutOfRangeNumber",
    "Problem",
    "ShapeError",
    "converter",
    "evolve",
    "parse_datetime",
    "read",
    "read_bare_text_as",
    "read_id",
    "structure",
]

T = TypeVar("T")

logger = logging.getLogger("octopus_async.models")

converter = cattrs.Converter(detailed_validation=False)


class ShapeError(ValueError):
    """An identifying value did not fit its model; `field` names it, `reason` says why.

    Neither names the offending value, which may be a secret (a voucher code, a PIN).
    """

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field or 'body'}: {reason}")
        self.field = field
        self.reason = reason


class Problem(NamedTuple):
    """A value that could not be read: `model.field` was expected to be `expected`.

    `dropped` is True when what could not be read was left out of its list (an item
    whose identifying field was the unreadable one, or an unreadable element); otherwise
    the field was read as None.
    """

    model: str
    field: str
    expected: str
    dropped: bool = False


class FieldWarnings:
    """Logs one WARNING per (model, field) that could not be read; one per client.

    The message names the model, the field and what was expected, never the value.
    """

    def __init__(self) -> None:
        self._seen: set[tuple[str, str]] = set()

    def report(self, problems: Iterable[Problem]) -> None:
        for problem in problems:
            key = (problem.model, problem.field)
            if key in self._seen:
                continue
            self._seen.add(key)
            outcome = "what could not be read was left out" if problem.dropped else "read as None"
            logger.warning(
                "%s.%s could not be read (expected %s); %s. The JSON as received is on "
                "`.raw`. (Logged once per client.)",
                problem.model,
                problem.field,
                problem.expected,
                outcome,
            )


class OutOfRangeNumber(str):
    """A JSON number that no Python number can hold exactly (1e999999999, NaN, ...).

    The decoder keeps its text instead of failing the whole body; a model reads it as
    text where text is expected and as unreadable everywhere else.
    """

    __slots__ = ()


class _Unreadable(Exception):
    """A value that cannot be read as `expected` (which never quotes the value)."""

    def __init__(self, expected: str) -> None:
        super().__init__(expected)
        self.expected = expected


class _Refused(_Unreadable):
    """A model whose identifying field `field` could not be read."""

    def __init__(self, model: str, field: str, expected: str) -> None:
        super().__init__(expected)
        self.model = model
        self.field = field


_problems: ContextVar[list[Problem] | None] = ContextVar("octopus_problems", default=None)


def read(data: Any, cls: type[T]) -> tuple[T, list[Problem]]:
    """Structure JSON into `cls`, with the problems met on the way.

    Raises `ShapeError` when the value itself or an identifying field cannot be read.
    """
    problems: list[Problem] = []
    token = _problems.set(problems)
    try:
        return converter.structure(data, cls), problems
    except _Refused as refused:
        raise ShapeError(refused.field, f"expected {refused.expected}") from None
    except _Unreadable as unreadable:
        raise ShapeError("", f"expected {unreadable.expected}") from None
    finally:
        _problems.reset(token)


def structure(data: Any, cls: type[T]) -> T:
    """`read` without the problems: only identifying fields can make it raise."""
    return read(data, cls)[0]


def _note(problem: Problem) -> None:
    problems = _problems.get()
    if problems is not None:
        problems.append(problem)


# --- scalars ----------------------------------------------------------------------------------

_INTEGER_TEXT = re.compile(r"[+-]?\d{1,30}", re.ASCII)
# Each digit run can match in one way only (no `\d+\.?\d*`, which backtracks quadratically:
# a 40,000-digit string took seconds to refuse).
_NUMBER_TEXT = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d{1,6})?", re.ASCII)
# Money and measures beyond 10**40 (or below 10**-40) are not amounts but garbage, and
# arithmetic on them would overflow the default decimal context in the caller's code.
_MAX_EXPONENT = 40


def read_id(value: Any) -> int | None:
    """`value` read as a model reads an integer id; None when it cannot be."""
    try:
        return _as_int(value)
    except _Unreadable:
        return None


def _as_int(value: Any) -> int:
    """`value` as an integer: an int, an integral number, or the text of one."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, Decimal):
        if value.is_finite() and abs(value.adjusted()) <= 30 and value == value.to_integral():
            return int(value)
    elif isinstance(value, str) and not isinstance(value, OutOfRangeNumber):
        text = value.strip()
        if _INTEGER_TEXT.fullmatch(text):
            return int(text)
    raise _Unreadable("an integer")


def _read_int(value: Any, _: Any) -> int:
    return _as_int(value)


def _read_str(value: Any, _: Any) -> str:
    if isinstance(value, str):
        return str(value) if isinstance(value, OutOfRangeNumber) else value
    # A code or PIN sent as a JSON number: the decoder kept its digits, so its text is exact.
    if isinstance(value, (int, Decimal)) and not isinstance(value, bool):
        return str(value)
    raise _Unreadable("a string")


def _read_bool(value: Any, _: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str):
        text = value.strip().lower()
        if text in ("true", "false"):
            return text == "true"
    raise _Unreadable("a boolean")


def _read_decimal(value: Any, _: Any) -> Decimal:
    if isinstance(value, bool):
        raise _Unreadable("a number")
    number: Decimal | None = None
    if isinstance(value, Decimal):
        number = value
    elif isinstance(value, int):
        number = Decimal(value)
    elif isinstance(value, float):
        number = Decimal(repr(value))
    elif isinstance(value, str) and not isinstance(value, OutOfRangeNumber):
        text = value.strip()
        if _NUMBER_TEXT.fullmatch(text):
            number = Decimal(text)
    if number is None or not number.is_finite() or abs(number.adjusted()) > _MAX_EXPONENT:
        raise _Unreadable("a number")
    return number


for _type, _hook in ((int, _read_int), (str, _read_str), (bool, _read_bool)):
    converter.register_structure_hook(_type, _hook)
converter.register_structure_hook(Decimal, _read_decimal)


# --- times -------------------------------------------------------------------------------------

_ISO8601 = re.compile(
    r"(\d{4})-?(\d{2})-?(\d{2})"
    r"(?:[Tt ](\d{2})(?::?(\d{2})(?::?(\d{2})(?:[.,](\d+))?)?)?)?"
    r"\s*(?:([Zz])|([+-])(\d{2})(?::?(\d{2}))?)?",
    re.ASCII,
)
# The common form, for the fast path (fromisoformat alone would take an offset of +05:99).
_RFC3339 = re.compile(
    r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{3}|\.\d{6})?"
    r"(?:Z|[+-](?:[01]\d|2[0-3]):[0-5]\d)"
)


def parse_datetime(text: str) -> datetime:
    """ISO 8601 text to an aware UTC datetime (D7, D40).

    RFC 3339 is the common case; a date without a time is midnight, a time without an
    offset is UTC, and basic forms (``20270401T000000Z``) and other separators are read
    too. Raises `ValueError` for anything else, including instants that cannot be
    represented in UTC.
    """
    text = text.strip()
    moment = _rfc3339(text)
    if moment is not None:
        return moment
    match = _ISO8601.fullmatch(text)
    if match is None:
        raise ValueError("not an ISO 8601 timestamp")
    year, month, day, hour, minute, second = (int(g or 0) for g in match.group(1, 2, 3, 4, 5, 6))
    micro = int((match.group(7) or "0")[:6].ljust(6, "0"))
    zone = timezone.utc
    if match.group(9):
        hours, minutes = int(match.group(10)), int(match.group(11) or 0)
        if hours > 23 or minutes > 59:
            raise ValueError("not a valid UTC offset")
        offset = timedelta(hours=hours, minutes=minutes)
        zone = timezone(-offset if match.group(9) == "-" else offset)
    return _in_utc(datetime(year, month, day, hour, minute, second, micro, tzinfo=zone))


def _rfc3339(text: str) -> datetime | None:
    """`text` in UTC if it has the common form, ten times faster than the general path;
    None otherwise. Python 3.10 refuses a "Z", and an instant that UTC cannot represent is
    for the general path to refuse: both go there."""
    if _RFC3339.fullmatch(text):
        try:
            moment = datetime.fromisoformat(text)
            # A zero offset gives the UTC singleton: nothing to convert (the usual "Z").
            return moment if moment.tzinfo is timezone.utc else _in_utc(moment)
        except (ValueError, OverflowError):
            pass
    return None


def _in_utc(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        return moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc)  # OverflowError at the edges of datetime


def _read_datetime(value: Any, _: Any) -> datetime:
    if isinstance(value, str):
        try:
            return parse_datetime(value)
        except (ValueError, OverflowError):
            pass
    raise _Unreadable("an ISO 8601 timestamp")


converter.register_structure_hook(datetime, _read_datetime)


def _read_open_enum(value: Any, cls: type[OpenEnum]) -> OpenEnum:
    text = _read_str(value, str)
    if not text.strip():
        raise _Unreadable("a non-empty string")
    return cls.lookup(text)


# Dispatch on the class (not a predicate) so that it wins over the str hook for subclasses.
converter.register_structure_hook(OpenEnum, _read_open_enum)


# --- collections --------------------------------------------------------------------------------


def _is_homogeneous_tuple(cls: Any) -> bool:
    args = get_args(cls)
    return get_origin(cls) is tuple and len(args) == 2 and args[1] is Ellipsis


def _tuple_reader(cls: Any, conv: cattrs.Converter) -> Callable[[Any, Any], Any]:
    item_type = get_args(cls)[0]
    read_item = conv.get_structure_hook(item_type)
    # A scalar item is named by the field holding the list (see `_lenient`).
    item_name = item_type.__name__ if _is_model(item_type) else ""

    def hook(value: Any, _: Any) -> tuple[Any, ...]:
        if item_name and isinstance(value, Mapping):
            # One object where a list of them is expected is a list of one, if it reads
            # as one; otherwise it is something else (a wrapper of another shape).
            try:
                return (read_item(value, item_type),)
            except _Unreadable:
                raise _Unreadable("a JSON array") from None
        if not isinstance(value, list):
            raise _Unreadable("a JSON array")
        items = []
        for item in value:
            try:
                items.append(read_item(item, item_type))
            except _Refused as refused:
                _note(Problem(refused.model, refused.field, refused.expected, dropped=True))
            except _Unreadable as unreadable:
                _note(Problem(item_name, "", unreadable.expected, dropped=True))
        return tuple(items)

    return hook


converter.register_structure_hook_factory(_is_homogeneous_tuple, _tuple_reader)


def _is_text_mapping(cls: Any) -> bool:
    return get_origin(cls) in (Mapping, dict) and get_args(cls) == (str, str)


def _read_text_mapping(value: Any, _: Any) -> dict[str, str]:
    """An object of strings; values of another kind are left out (raw keeps them)."""
    if not isinstance(value, Mapping):
        raise _Unreadable("a JSON object of strings")
    texts = {}
    for key, item in value.items():
        try:
            texts[key] = _read_str(item, str)
        except _Unreadable:
            _note(Problem("", "", "strings as values", dropped=True))
    return texts


converter.register_structure_hook_func(_is_text_mapping, _read_text_mapping)


def _is_json_object(cls: Any) -> bool:
    return get_origin(cls) in (Mapping, dict) and get_args(cls) == (str, Any)


def _read_json_object(value: Any, _: Any) -> dict[str, Any]:
    """An object kept as it came (a payload the SDK does not model)."""
    if not isinstance(value, Mapping):
        raise _Unreadable("a JSON object")
    return dict(value)


converter.register_structure_hook_func(_is_json_object, _read_json_object)


# --- models -------------------------------------------------------------------------------------


def _model_reader(cls: Any, conv: cattrs.Converter) -> Callable[[Any, Any], Any]:
    """The reader of the model `cls`: a function generated for it, as cattrs does, but cheaper.

    Each field's common case is read inline (see `_inline_read`; null gives a plain default)
    and anything else by the field's hook. As in cattrs, the fields with a default are read
    first and the identifying ones last, in order, so the same problems are reported. A
    field that is absent gets what attrs gives an argument left out.
    """
    model = cls.__name__
    attrs.resolve_types(cls)
    scope: dict[str, Any] = {
        "Decimal": Decimal,
        "Mapping": Mapping,
        "_MISSING": _MISSING,
        "_Refused": _Refused,
        "_Unreadable": _Unreadable,
        "cls": cls,
        "model": model,
        "set_raw": object.__setattr__,
    }
    lenient: list[str] = []
    identifying: list[str] = []
    arguments: list[str] = []
    named = False  # after an argument left out or named, the rest are named too
    for index, field in enumerate(attrs.fields(cls)):
        if not field.init or field.metadata.get("local"):
            named = named or field.init
            continue
        # The type's own hook, told the type without None: the field's hook handles None.
        type_ = _without_none(field.type)
        base = conv.get_structure_hook(type_)
        required = field.default is attrs.NOTHING
        scope[f"type{index}"] = type_
        if required:
            scope[f"hook{index}"] = _identifying(base, type_, model, field.name)
        else:
            scope[f"hook{index}"] = _lenient(base, type_, model, field)
        read = f"hook{index}(v, type{index})"
        if not required:
            # attrs' own default for an argument left out: NOTHING makes it call the factory.
            factory = isinstance(field.default, attrs.Factory)  # type: ignore[arg-type]
            scope[f"default{index}"] = attrs.NOTHING if factory else field.default
            if not factory:
                read = f"default{index} if v is None else {read}"
        inline = _inline_read(base, type_, f"known{index}", scope)
        if inline is not None:
            read = f"{inline[1]} if {inline[0]} else {read}"
        lines = [f"v = o.get({field.name!r}, _MISSING)"]
        lines += [
            f"if v is _MISSING: v = o.get({alias!r}, _MISSING)"
            for alias in field.metadata.get("aliases", ())
        ]
        if required:
            lines.append(f"if v is _MISSING: raise _Refused(model, {field.name!r}, 'a value')")
            identifying += [*lines, f"f{index} = {read}"]
        else:
            lenient += [*lines, f"f{index} = default{index} if v is _MISSING else {read}"]
        # Positional where possible: cheaper than keywords.
        named = named or field.kw_only
        arguments.append(f"{field.alias}=f{index}" if named else f"f{index}")
    body = [
        "if o.__class__ is not dict and not isinstance(o, Mapping):",
        "    raise _Unreadable('a JSON object')",
        *lenient,
        *identifying,
        f"instance = cls({', '.join(arguments)})",
    ]
    if "raw" in attrs.fields_dict(cls):
        # Frozen models: `raw` is init=False, set once here (the attrs-documented way).
        body.append("set_raw(instance, 'raw', o)")
    source = "".join(f"    {line}\n" for line in [*body, "return instance"])
    exec(compile(f"def read(o, _):\n{source}", f"<reader of {model}>", "exec"), scope)
    reader: Callable[[Any, Any], Any] = scope["read"]
    return reader


_MISSING = object()


def _inline_read(
    base: Callable[[Any, Any], Any], type_: Any, name: str, scope: dict[str, Any]
) -> tuple[str, str] | None:
    """A test on `v` for the values that `base` reads without a doubt, and what it makes of
    them; None when there is no such test. `name` is free in `scope` for a lookup table."""
    for hook, exact in ((_read_int, "int"), (_read_str, "str"), (_read_bool, "bool")):
        if base is hook:
            return f"v.__class__ is {exact}", "v"
    if base is _read_decimal:
        scope["_MAX_EXPONENT"] = _MAX_EXPONENT
        return (
            "v.__class__ is Decimal and v.is_finite() and abs(v.adjusted()) <= _MAX_EXPONENT",
            "v",
        )
    if base is _read_datetime:
        scope["_rfc3339"] = _rfc3339
        return "v.__class__ is str and (m := _rfc3339(v)) is not None", "m"
    if base is _read_open_enum:
        # What `lookup` makes of each known value as it is sent (no spaces around it).
        known = {
            text: type_.lookup(text) for text in type_.known() if text and text == text.strip()
        }
        scope[name] = known
        return f"v.__class__ is str and (m := {name}.get(v)) is not None", "m"
    return None


def _without_none(type_: Any) -> Any:
    """`X` for `X | None`: the field's hook sees None before the type's hook would."""
    rest = [arg for arg in get_args(type_) if arg is not type(None)]
    return rest[0] if len(rest) == 1 and type(None) in get_args(type_) else type_


def _identifying(
    base: Callable[[Any, Any], Any], type_: Any, model: str, name: str
) -> Callable[[Any, Any], Any]:
    def hook(value: Any, _: Any) -> Any:
        if value is None:
            raise _Refused(model, name, "a value")
        try:
            return base(value, type_)
        except _Refused:
            raise
        except _Unreadable as unreadable:
            raise _Refused(model, name, unreadable.expected) from None

    return hook


def _lenient(
    base: Callable[[Any, Any], Any], type_: Any, model: str, field: attrs.Attribute[Any]
) -> Callable[[Any, Any], Any]:
    default: Any = field.default
    make_default = default.factory if isinstance(default, attrs.Factory) else None  # type: ignore[arg-type]
    name = field.name
    # Only a list or an object can report unreadable elements of its own (see below).
    holds_elements = get_origin(type_) in (tuple, Mapping, dict)

    def fallback() -> Any:
        return make_default() if make_default is not None else default

    def hook(value: Any, _: Any) -> Any:
        if value is None:
            return fallback()
        problems = _problems.get() if holds_elements else None
        seen = len(problems) if problems is not None else 0
        try:
            read_value = base(value, type_)
        except _Refused as refused:
            _note(Problem(refused.model, refused.field, refused.expected))
        except _Unreadable as unreadable:
            _note(Problem(model, name, unreadable.expected))
        else:
            if problems is not None and len(problems) > seen:
                _name_scalar_items(problems, seen, model, name)
            return read_value
        return fallback()

    return hook


def _name_scalar_items(problems: list[Problem], start: int, model: str, field: str) -> None:
    """Name the unreadable items of a list (or values of an object) by the field holding it."""
    for index in range(start, len(problems)):
        if not problems[index].model:
            problems[index] = problems[index]._replace(model=model, field=field)


def _is_model(cls: Any) -> bool:
    return isinstance(cls, type) and attrs.has(cls)


converter.register_structure_hook_factory(_is_model, _model_reader)


def read_bare_text_as(cls: type[Any], field: str) -> None:
    """Read a bare string (or number) where a `cls` object is expected as `cls(field=text)`.

    For list items whose documented form is an object but whose meaning is one text: an
    input field given by its name, a voucher given by its code.
    """
    read_object = converter.get_structure_hook(cls)

    def hook(value: Any, type_: Any) -> Any:
        if isinstance(value, (str, int, Decimal)) and not isinstance(value, bool):
            return cls(**{field: _read_str(value, str)})
        return read_object(value, type_)

    converter.register_structure_hook(cls, hook)


def evolve(model: T, **changes: Any) -> T:
    """`attrs.evolve` for models: the copy keeps the JSON it was read from in `raw`."""
    copy = attrs.evolve(model, **changes)  # type: ignore[misc]
    object.__setattr__(copy, "raw", model.raw)  # type: ignore[attr-defined]
    return copy
