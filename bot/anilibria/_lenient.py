"""Lenient field types for both APIs' models, and turning JSON into models without surprises.

Fields are added to the APIs over time and the live servers sent odd values, so:

* a value of an unexpected type in an optional field becomes ``None`` (debug log);
* a list item that does not validate is dropped (debug log), ``null`` for a list becomes ``[]``
  (``OptItems``: stays ``None``, meaning "not in this answer"), and a PHP object
  ``{"0": ..., "1": ...}`` is read as a list;
* :func:`parse_one` / :func:`parse_list` raise :class:`ResponseShapeError` (never a pydantic
  error) when an answer as a whole is not what was asked for.
"""

from __future__ import annotations

import builtins
import logging
from collections.abc import Mapping
from datetime import datetime
from typing import Annotated, Any, TypeVar

from pydantic import BaseModel, ValidationError, ValidatorFunctionWrapHandler, WrapValidator

from bot.anilibria.errors import ResponseShapeError

__all__ = [
    "Items",
    "Lenient",
    "OptBool",
    "OptFloat",
    "OptInt",
    "OptItems",
    "OptStr",
    "OptTime",
    "brief",
    "parse_list",
    "parse_one",
    "short",
]

_log = logging.getLogger("bot.anilibria")

M = TypeVar("M", bound=BaseModel)


def short(value: object, limit: int = 120) -> str:
    """A value for a log line: its repr, cut to `limit` characters."""
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + "..."


def _or_none(value: Any, handler: ValidatorFunctionWrapHandler) -> Any:
    try:
        return handler(value)
    except ValidationError as exc:
        _log.debug("AniLibria: ignoring invalid value %s (%d)", short(value), exc.error_count())
        return None


def _items(value: Any, handler: ValidatorFunctionWrapHandler) -> builtins.list[Any]:
    if isinstance(value, Mapping):
        value = builtins.list(value.values())
    if not isinstance(value, builtins.list | tuple):
        _log.debug("AniLibria: expected a list, got %s", short(value))
        return []
    out: builtins.list[Any] = []
    for item in value:
        try:
            out.extend(handler([item]))
        except ValidationError as exc:
            _log.debug("AniLibria: dropping invalid item %s (%d)", short(item), exc.error_count())
    return out


def _drop_invalid(value: Any, handler: ValidatorFunctionWrapHandler) -> Any:
    return [] if value is None else _items(value, handler)


def _drop_invalid_or_none(value: Any, handler: ValidatorFunctionWrapHandler) -> Any:
    return None if value is None else _items(value, handler)


Lenient = WrapValidator(_or_none)
"""For optional fields: a value that does not validate becomes ``None``."""
Items = WrapValidator(_drop_invalid)
"""For ``list[X]`` fields: invalid items dropped, ``null`` -> ``[]``."""
OptItems = WrapValidator(_drop_invalid_or_none)
"""For ``list[X] | None`` fields: invalid items dropped, ``null`` stays ``None``."""

OptInt = Annotated[int | None, Lenient]
OptFloat = Annotated[float | None, Lenient]
OptStr = Annotated[str | None, Lenient]
OptBool = Annotated[bool | None, Lenient]
OptTime = Annotated[datetime | None, Lenient]


def brief(exc: ValidationError) -> str:
    """A one-line account of a validation error, without the input values."""
    errors = exc.errors(include_input=False, include_url=False)
    if not errors:
        return "invalid"
    where = ".".join(str(part) for part in errors[0]["loc"]) or "<root>"
    return f"{exc.error_count()} error(s), first at {where}: {errors[0]['msg']}"


def parse_one(model: type[M], data: Any, what: str) -> M:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise ResponseShapeError(f"{what}: unexpected answer: {brief(exc)}") from None


def parse_list(model: type[M], data: Any, what: str) -> builtins.list[M]:
    """A bare array of models; invalid items are dropped (all invalid: ResponseShapeError)."""
    if not isinstance(data, builtins.list):
        raise ResponseShapeError(f"{what}: expected a list, got {type(data).__name__}")
    items: builtins.list[M] = []
    for raw in data:
        try:
            items.append(model.model_validate(raw))
        except ValidationError as exc:
            _log.warning("AniLibria %s: skipping an invalid item: %s", what, brief(exc))
    if data and not items:
        raise ResponseShapeError(f"{what}: no item of the answer is a valid {model.__name__}")
    return items
