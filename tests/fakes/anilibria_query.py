"""The v2 ``advancedSearch`` query language, as much of it as the bot and the tests use.

``{a.b}`` keys, string literals in double quotes with JSON escapes (``\\"``, ``\\\\``,
``\\u007b``...), whole numbers, tuples ``(a, b)``, comparisons ``== != < <= > >=``, ``in`` and
``not in`` (a value in a list, or a tuple that is a subset of a list), joined by ``and``/``or``
with ``not`` and parentheses. A query outside this subset is a :class:`QueryError` (the fake
answers 400), so a test sees a malformed query instead of a silent "everything". Regular
expressions (``~=``) are refused: the bot must never send one.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

__all__ = ["QueryError", "compile_query"]

Predicate = Callable[[dict[str, Any]], bool]

_TOKEN = re.compile(
    r"""\s*(?:
    (?P<key>\{[A-Za-z_][\w.]*\})
  | (?P<string>"(?:[^"\\\x00-\x1f]|\\(?:["\\/bfnrt]|u[0-9a-fA-F]{4}))*")
  | (?P<number>-?\d+)
  | (?P<op>==|!=|<=|>=|<|>)
  | (?P<word>and|or|not|in)\b
  | (?P<punct>[(),])
)""",
    re.VERBOSE,
)


class QueryError(ValueError):
    pass


def _tokens(text: str) -> list[tuple[str, Any]]:
    out: list[tuple[str, Any]] = []
    pos = 0
    text = text.strip()
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if match is None or match.end() == pos:
            raise QueryError(f"cannot read the query at {pos}: {text[pos : pos + 20]!r}")
        kind = match.lastgroup or ""
        raw = match.group(kind)
        if kind == "string":
            out.append(("value", json.loads(raw)))
        elif kind == "number":
            out.append(("value", int(raw)))
        elif kind == "key":
            out.append(("key", raw[1:-1]))
        else:
            out.append((raw, raw))
        pos = match.end()
    return out


def _lookup(title: dict[str, Any], path: str) -> Any:
    value: Any = title
    for part in path.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return value


class _Parser:
    def __init__(self, tokens: list[tuple[str, Any]]) -> None:
        self.tokens = tokens
        self.pos = 0

    def peek(self) -> str | None:
        return self.tokens[self.pos][0] if self.pos < len(self.tokens) else None

    def take(self, kind: str | None = None) -> tuple[str, Any]:
        if self.pos >= len(self.tokens) or (kind is not None and self.peek() != kind):
            raise QueryError(f"expected {kind or 'more'} at token {self.pos}")
        token = self.tokens[self.pos]
        self.pos += 1
        return token

    def parse(self) -> Predicate:
        predicate = self.disjunction()
        if self.pos != len(self.tokens):
            raise QueryError(f"unexpected {self.peek()!r} at token {self.pos}")
        return predicate

    def disjunction(self) -> Predicate:
        parts = [self.conjunction()]
        while self.peek() == "or":
            self.take()
            parts.append(self.conjunction())
        return lambda t: any(p(t) for p in parts)

    def conjunction(self) -> Predicate:
        parts = [self.negation()]
        while self.peek() == "and":
            self.take()
            parts.append(self.negation())
        return lambda t: all(p(t) for p in parts)

    def negation(self) -> Predicate:
        if self.peek() == "not":
            self.take()
            inner = self.negation()
            return lambda t: not inner(t)
        if self.peek() == "(" and not self._is_tuple():
            self.take("(")
            inner = self.disjunction()
            self.take(")")
            return inner
        return self.comparison()

    def _is_tuple(self) -> bool:
        depth, i = 0, self.pos
        while i < len(self.tokens):
            kind = self.tokens[i][0]
            depth += kind == "("
            depth -= kind == ")"
            if depth == 1 and kind == ",":
                return True
            if depth == 0:
                return False
            i += 1
        return False

    def operand(self) -> Callable[[dict[str, Any]], Any]:
        kind = self.peek()
        if kind == "key":
            path = self.take()[1]
            return lambda t: _lookup(t, path)
        if kind == "value":
            value = self.take()[1]
            return lambda t: value
        if kind == "(":
            self.take("(")
            items = [self.operand()]
            while self.peek() == ",":
                self.take()
                items.append(self.operand())
            self.take(")")
            return lambda t: tuple(item(t) for item in items)
        raise QueryError(f"expected a key, a value or a tuple at token {self.pos}")

    def comparison(self) -> Predicate:
        left = self.operand()
        kind = self.peek()
        negate = False
        if kind == "not":
            self.take()
            kind, negate = "in", True
            if self.peek() != "in":
                raise QueryError("'not' must be followed by 'in' here")
        if kind not in ("==", "!=", "<", "<=", ">", ">=", "in"):
            raise QueryError(f"expected a comparison at token {self.pos}")
        self.take()
        right = self.operand()
        if kind == "in":
            return lambda t: _contains(right(t), left(t)) != negate
        return lambda t: _compare(left(t), kind, right(t))


def _contains(container: Any, item: Any) -> bool:
    if not isinstance(container, list | tuple):
        return False
    if isinstance(item, tuple):
        return all(part in container for part in item)
    return item in container


def _compare(left: Any, op: str, right: Any) -> bool:
    if op == "==":
        return bool(left == right)
    if op == "!=":
        return bool(left != right)
    try:
        return bool(
            {"<": left < right, "<=": left <= right, ">": left > right, ">=": left >= right}[op]
        )
    except TypeError:
        return False


def compile_query(text: str) -> Predicate:
    """The query as a predicate on a title; ``~=`` (outside a literal) is not a token here."""
    return _Parser(_tokens(text)).parse()
