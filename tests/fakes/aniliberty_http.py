"""HTTP helpers of the fake AniLiberty API v1: JSON as the live server writes it, Laravel's
422 bodies, parameters, ``include``/``exclude``, and Fractal's paging envelope.

Private to :mod:`tests.fakes.aniliberty`.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping
from typing import Any, Literal

from aiohttp import web
from yarl import URL

__all__ = [
    "API_PREFIX",
    "REASONS",
    "ApiError",
    "dumps",
    "fields_of",
    "int_param",
    "json_response",
    "limit_param",
    "not_found",
    "paged",
    "php_int",
    "shaped",
    "validation_error",
]

API_PREFIX = "/api/v1"

REASONS = {
    400: "Bad Request",
    401: "Unauthenticated.",
    403: "This action is unauthorized.",
    404: "Not Found",
    405: "Method Not Allowed",
    429: "Too Many Attempts.",
    500: "Server Error",
}


def dumps(data: Any) -> bytes:
    """JSON as the live server writes it: compact, ``\\uXXXX`` escapes, escaped slashes (PHP)."""
    return json.dumps(data, ensure_ascii=True, separators=(",", ":")).replace("/", "\\/").encode()


def json_response(
    data: Any, status: int = 200, headers: Mapping[str, str] | None = None
) -> web.Response:
    response = web.Response(status=status, body=dumps(data), headers=headers)
    response.content_type = "application/json"
    return response


class ApiError(Exception):
    """Raised by a handler; the middleware answers ``status`` with ``body`` as JSON."""

    def __init__(
        self, status: int, body: Any = None, headers: Mapping[str, str] | None = None
    ) -> None:
        super().__init__(status)
        self.status = status
        self.body: Any = body if body is not None else {"message": REASONS.get(status, "Error")}
        self.headers = dict(headers or {})


def not_found(message: str = "Not Found") -> ApiError:
    return ApiError(404, {"message": message})


def validation_error(errors: Mapping[str, str | list[str]]) -> ApiError:
    """Laravel's 422: the first message, "(and N more errors)", and every message by field."""
    by_field = {k: [v] if isinstance(v, str) else list(v) for k, v in errors.items()}
    messages = [m for ms in by_field.values() for m in ms]
    message = messages[0]
    if len(messages) > 1:
        more = len(messages) - 1
        message += f" (and {more} more error{'s' if more > 1 else ''})"
    return ApiError(422, {"message": message, "errors": by_field})


def php_int(value: Any) -> int | None:
    """``value`` as Laravel's ``integer`` rule sees it (PHP FILTER_VALIDATE_INT), else None.

    JSON integers pass; strings pass only in canonical form: "58701" yes, "058701" no.
    """
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        text = value.strip()
        digits = text[1:] if text[:1] in "+-" else text
        if digits.isdigit() and digits.isascii() and (digits == "0" or digits[0] != "0"):
            return int(text)
    return None


def int_param(
    source: Mapping[str, Any],
    name: str,
    default: int | None = None,
    *,
    minimum: int | None = None,
    maximum: int | None = None,
    label: str | None = None,
) -> int | None:
    """An integer parameter with Laravel's wording on failure (``label`` names it there)."""
    raw = source.get(name)
    label = label or name
    if raw is None or raw == "":
        return default
    value = php_int(raw)
    if value is None:
        raise validation_error({label: f"The {label} field must be an integer."})
    if minimum is not None and value < minimum:
        raise validation_error({label: f"The {label} field must be at least {minimum}."})
    if maximum is not None and value > maximum:
        raise validation_error({label: f"The {label} field must not be greater than {maximum}."})
    return value


def limit_param(source: Mapping[str, Any], default: int, maximum: int = 50) -> int:
    value = int_param(source, "limit", default, minimum=1, maximum=maximum)
    assert value is not None
    return value


# -- include / exclude -------------------------------------------------------------------------


def _tree(paths: Iterable[str]) -> dict[str, Any]:
    tree: dict[str, Any] = {}
    for path in paths:
        node = tree
        parts = [p for p in path.strip().split(".") if p]
        for i, part in enumerate(parts):
            if i == len(parts) - 1:
                node[part] = True
            else:
                child = node.get(part)
                if child is True:
                    break
                node = node.setdefault(part, {})
    return tree


def _include(obj: Any, tree: dict[str, Any]) -> Any:
    if isinstance(obj, list):
        return [_include(item, tree) for item in obj]
    if not isinstance(obj, dict):
        return obj
    return {
        key: value if tree[key] is True else _include(value, tree[key])
        for key, value in obj.items()
        if key in tree
    }


def _exclude(obj: Any, tree: dict[str, Any]) -> Any:
    if isinstance(obj, list):
        return [_exclude(item, tree) for item in obj]
    if not isinstance(obj, dict):
        return obj
    return {
        key: value if key not in tree else _exclude(value, tree[key])
        for key, value in obj.items()
        if tree.get(key) is not True
    }


def _field_list(raw: Any) -> list[str]:
    if raw is None:
        return []
    values = raw if isinstance(raw, list) else [raw]
    return [part for value in values for part in str(value).split(",") if part.strip()]


def shaped(item: Any, include: list[str], exclude: list[str]) -> Any:
    """``include=``/``exclude=`` (dot-nesting, lists traversed, ``exclude`` wins)."""
    if include:
        item = _include(item, _tree(include))
    if exclude:
        item = _exclude(item, _tree(exclude))
    return item


def fields_of(
    request: web.Request, body: Mapping[str, Any] | None = None
) -> tuple[list[str], list[str]]:
    include = _field_list(request.query.getall("include", None))
    exclude = _field_list(request.query.getall("exclude", None))
    if body:
        include += _field_list(body.get("include"))
        exclude += _field_list(body.get("exclude"))
    return include, exclude


# -- paging ------------------------------------------------------------------------------------


def paged(
    request: web.Request,
    items: list[Any],
    page: int,
    limit: int,
    *,
    links_style: Literal["fractal", "null"] = "fractal",
) -> dict[str, Any]:
    """Fractal's ``{data, meta: {pagination}}``; ``links`` name absolute URLs of this request.

    ``links_style="fractal"``: a link is absent at its end, and ``links`` is ``[]`` when there
    are neither (PHP's empty array); ``"null"``: both keys always there, null at the ends.
    """
    total = len(items)
    total_pages = max(1, math.ceil(total / limit))
    chunk = items[(page - 1) * limit : page * limit]

    def url(n: int) -> str:
        query = [(k, v) for k, v in request.url.query.items() if k != "page"]
        if request.method != "GET" and "limit" not in request.url.query:
            query.append(("limit", str(limit)))
        query.append(("page", str(n)))
        return str(URL(f"{request.scheme}://{request.host}{request.path}").with_query(query))

    links: dict[str, str | None] = {}
    if page > 1:
        links["previous"] = url(page - 1)
    elif links_style == "null":
        links["previous"] = None
    if page < total_pages:
        links["next"] = url(page + 1)
    elif links_style == "null":
        links["next"] = None
    pagination = {
        "total": total,
        "count": len(chunk),
        "per_page": limit,
        "current_page": page,
        "total_pages": total_pages,
        "links": links if links else [],
    }
    return {"data": chunk, "meta": {"pagination": pagination}}
