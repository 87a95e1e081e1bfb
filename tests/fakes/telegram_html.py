"""Telegram's HTML parse mode, re-implemented for the fake Bot API server.

The parser follows the algorithm of tdlib's ``parse_html`` (the one the real Bot API
runs): the same supported tags, the same attribute grammar, the same error texts
("Unsupported start tag \\"x\\" at byte offset N", "Unmatched end tag ...", ...) and
entity offsets/lengths in UTF-16 code units.

On top of that, ``strict=True`` (the default) enforces what the Bot API documentation
asks for but Telegram itself tolerates: every ``&`` must start a supported entity
(``&lt;`` ``&gt;`` ``&amp;`` ``&quot;`` or a numeric one, with the ``;``) and a bare
``>`` is refused too, so a bot that forgets to escape user data fails in tests instead
of in production. ``<a>`` also needs an ``href`` in strict mode. Attribute values keep
Telegram's leniency (``href="...?a=1&b=2"`` is accepted, ``&amp;`` decoded); an href that
is not a usable URL drops the link silently, as Telegram does.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

__all__ = ["EntityParseError", "ParsedText", "parse_html", "utf16_len"]

_SPACES = frozenset(" \t\r\n\v\f")
_TAG_TYPES = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "tg-spoiler": "spoiler",
    "span": "spoiler",
    "a": "text_link",
    "code": "code",
    "pre": "pre",
    "blockquote": "blockquote",
    "tg-emoji": "custom_emoji",
    "tg-time": "date_time",
}
# tdlib's order for entities covering the same span (outer ones first)
_PRIORITY = {
    "blockquote": 0,
    "expandable_blockquote": 0,
    "pre": 11,
    "code": 20,
    "text_link": 49,
    "bold": 90,
    "italic": 91,
    "underline": 92,
    "strikethrough": 93,
    "spoiler": 94,
    "custom_emoji": 99,
}
_STRICT_ENTITY = re.compile(r"&(?:(lt|gt|amp|quot);|#([0-9]{1,8});|#[xX]([0-9a-fA-F]{1,8});)")
_LENIENT_ENTITY = re.compile(r"&(?:(lt|gt|amp|quot)|#([0-9]{1,8})|#[xX]([0-9a-fA-F]{1,8}));?")
_NAMED = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
_UNQUOTED_VALUE = re.compile(r"[\w.\-]*")
_SCHEME = re.compile(r"^([a-zA-Z][a-zA-Z0-9+.\-]*):")
_HOST_LIKE = re.compile(r"^[\w\-]+(\.[\w\-]+)+(:\d+)?([/?#].*)?$")
_INVALID_SURROGATES = (
    "Text contains invalid Unicode characters after decoding HTML entities, "
    "check for unmatched surrogate code units"
)


class EntityParseError(ValueError):
    """The text can't be parsed; ``str(exc)`` is the part after "can't parse entities: "."""


@dataclass
class ParsedText:
    text: str
    entities: list[dict[str, Any]] = field(default_factory=list)


def utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


@dataclass
class _Open:
    name: str
    attrs: dict[str, str]
    start: int  # UTF-16 offset in the output


def _byte_offset(source: str, index: int) -> int:
    return len(source[:index].encode("utf-8"))


def _decode_entity(source: str, index: int, *, strict: bool) -> tuple[str, int] | None:
    """Decode an HTML entity at ``source[index] == "&"``; None when there is none."""
    match = (_STRICT_ENTITY if strict else _LENIENT_ENTITY).match(source, index)
    if match is None:
        return None
    named, decimal, hexadecimal = match.groups()
    if named:
        return _NAMED[named], match.end()
    code = int(decimal, 10) if decimal else int(hexadecimal, 16)
    if code == 0 or code > 0x10FFFF:
        return None
    if 0xD800 <= code <= 0xDFFF:
        raise EntityParseError(_INVALID_SURROGATES)
    return chr(code), match.end()


def _decode_attribute(raw: str) -> str:
    out: list[str] = []
    i = 0
    while i < len(raw):
        if raw[i] == "&":
            decoded = _decode_entity(raw, i, strict=False)
            if decoded is not None:
                out.append(decoded[0])
                i = decoded[1]
                continue
        out.append(raw[i])
        i += 1
    return "".join(out)


def normalize_url(url: str) -> str | None:
    """What tdlib makes of an ``href``: a usable URL, or None (the link is dropped)."""
    url = url.strip()
    scheme = _SCHEME.match(url)
    if scheme is not None:
        name = scheme.group(1).lower()
        if name in ("http", "https"):
            rest = url[scheme.end() :]
            return url if rest.startswith("//") and len(rest) > 2 else None
        return url if name in ("tg", "ton", "tonsite", "mailto") else None
    if _HOST_LIKE.match(url):
        return "http://" + url + ("" if re.search(r"[/?#]", url) else "/")
    return None


class _Parser:
    def __init__(self, source: str, *, strict: bool) -> None:
        self.src = source
        self.strict = strict
        self.i = 0
        self.out: list[str] = []
        self.u16 = 0
        self.stack: list[_Open] = []
        self.entities: list[dict[str, Any]] = []

    def fail(self, message: str) -> EntityParseError:
        return EntityParseError(message)

    def at(self, index: int) -> int:
        return _byte_offset(self.src, index)

    def emit(self, text: str) -> None:
        self.out.append(text)
        self.u16 += utf16_len(text)

    def skip_spaces(self) -> None:
        while self.i < len(self.src) and self.src[self.i] in _SPACES:
            self.i += 1

    def run(self) -> ParsedText:
        src = self.src
        while self.i < len(src):
            char = src[self.i]
            if char == "&":
                decoded = _decode_entity(src, self.i, strict=self.strict)
                if decoded is not None:
                    self.emit(decoded[0])
                    self.i = decoded[1]
                    continue
                if self.strict:
                    raise self.fail(
                        f'Character "&" must be escaped as "&amp;" at byte offset {self.at(self.i)}'
                    )
            elif char == ">" and self.strict:
                raise self.fail(
                    f'Character ">" must be escaped as "&gt;" at byte offset {self.at(self.i)}'
                )
            elif char == "<":
                if self.i + 1 < len(src) and src[self.i + 1] == "/":
                    self.end_tag()
                else:
                    self.start_tag()
                continue
            self.emit(char)
            self.i += 1
        if self.stack:
            raise self.fail(
                f'Can\'t find end tag corresponding to start tag "{self.stack[-1].name}"'
            )
        ordered = sorted(
            self.entities,
            key=lambda e: (e["offset"], -e["length"], _PRIORITY.get(e["type"], 50)),
        )
        for entity in ordered:
            entity.pop("_language", None)
        return ParsedText("".join(self.out), ordered)

    def start_tag(self) -> None:
        src, begin = self.src, self.i
        self.i += 1
        while self.i < len(src) and src[self.i] not in _SPACES and src[self.i] != ">":
            self.i += 1
        if self.i >= len(src):
            raise self.fail(f"Unclosed start tag at byte offset {self.at(begin)}")
        name = src[begin + 1 : self.i].lower()
        if name not in _TAG_TYPES:
            raise self.fail(f'Unsupported start tag "{name}" at byte offset {self.at(begin)}')
        attrs: dict[str, str] = {}
        while True:
            self.skip_spaces()
            if self.i >= len(src):
                raise self.fail(f'Unclosed start tag "{name}" at byte offset {self.at(begin)}')
            if src[self.i] == ">":
                self.i += 1
                break
            attr_begin = self.i
            while self.i < len(src) and src[self.i] not in _SPACES and src[self.i] not in "=>":
                self.i += 1
            attr = src[attr_begin : self.i].lower()
            if not attr:
                raise self.fail(
                    f'Empty attribute name in the tag "{name}" at byte offset {self.at(begin)}'
                )
            self.skip_spaces()
            if self.i >= len(src) or src[self.i] != "=":
                if name == "blockquote" and attr == "expandable":
                    attrs[attr] = ""
                    continue
                raise self.fail(
                    "Expected equal sign in declaration of an attribute of the tag "
                    f'"{name}" at byte offset {self.at(begin)}'
                )
            self.i += 1
            self.skip_spaces()
            if self.i >= len(src):
                raise self.fail(f'Unclosed start tag "{name}" at byte offset {self.at(begin)}')
            attrs[attr] = self.attribute_value(begin)
        self.check_start(name, attrs, begin)
        self.stack.append(_Open(name, attrs, self.u16))

    def attribute_value(self, begin: int) -> str:
        src = self.src
        quote = src[self.i]
        if quote in "\"'":
            end = src.find(quote, self.i + 1)
            if end == -1:
                raise self.fail(f"Unclosed start tag at byte offset {self.at(begin)}")
            value = _decode_attribute(src[self.i + 1 : end])
            self.i = end + 1
            return value
        match = _UNQUOTED_VALUE.match(src, self.i)
        end = match.end() if match else self.i
        if end >= len(src) or (src[end] not in _SPACES and src[end] != ">"):
            raise self.fail(f"Unexpected end of name token at byte offset {self.at(self.i)}")
        value = src[self.i : end]
        self.i = end
        return value

    def check_start(self, name: str, attrs: dict[str, str], begin: int) -> None:
        if name == "span" and attrs.get("class") != "tg-spoiler":
            raise self.fail(
                f'Tag "span" must have class "tg-spoiler" at byte offset {self.at(begin)}'
            )
        if name == "tg-emoji" and not attrs.get("emoji-id", "").isdigit():
            raise self.fail("Invalid custom emoji identifier specified")
        if name == "tg-time" and not attrs.get("unix", "").isdigit():
            raise self.fail('Invalid Unix time specified in the tag "tg-time"')
        if name == "a" and self.strict and "href" not in attrs:
            raise self.fail(f'Tag "a" must have attribute "href" at byte offset {self.at(begin)}')

    def end_tag(self) -> None:
        src, begin = self.src, self.i
        if not self.stack:
            raise self.fail(f"Unexpected end tag at byte offset {self.at(begin)}")
        self.i += 2
        name_begin = self.i
        while self.i < len(src) and src[self.i] not in _SPACES and src[self.i] != ">":
            self.i += 1
        end_name = src[name_begin : self.i].lower()
        self.skip_spaces()
        if self.i >= len(src) or src[self.i] != ">":
            raise self.fail(f"Unclosed end tag at byte offset {self.at(begin)}")
        self.i += 1
        opened = self.stack[-1]
        if end_name and end_name != opened.name:
            raise self.fail(
                f'Unmatched end tag at byte offset {self.at(begin)}, expected "</{opened.name}>", '
                f'found "</{end_name}>"'
            )
        self.stack.pop()
        self.close(opened)

    def close(self, opened: _Open) -> None:
        length = self.u16 - opened.start
        if length <= 0:
            return
        entity: dict[str, Any] = {
            "type": _TAG_TYPES[opened.name],
            "offset": opened.start,
            "length": length,
        }
        if opened.name == "a":
            url = normalize_url(opened.attrs.get("href", ""))
            if url is None:
                return
            entity["url"] = url
        elif opened.name == "code":
            language = opened.attrs.get("class", "")
            if language.startswith("language-") and self.inside("pre"):
                entity["_language"] = language[len("language-") :]
        elif opened.name == "pre" and self.entities:
            # <pre><code class="language-x">...</code></pre> is one pre entity with a language
            last = self.entities[-1]
            same_span = last["offset"] == opened.start and last["length"] == length
            if last["type"] == "code" and last.get("_language") and same_span:
                self.entities.pop()
                entity["language"] = last["_language"]
        elif opened.name == "blockquote" and "expandable" in opened.attrs:
            entity["type"] = "expandable_blockquote"
        elif opened.name == "tg-emoji":
            entity["custom_emoji_id"] = opened.attrs["emoji-id"]
        elif opened.name == "tg-time":
            entity["unix_time"] = int(opened.attrs["unix"])
            if opened.attrs.get("format"):
                entity["date_time_format"] = opened.attrs["format"]
        self.entities.append(entity)

    def inside(self, name: str) -> bool:
        return any(item.name == name for item in self.stack)


def parse_html(source: str, *, strict: bool = True) -> ParsedText:
    """Parse Bot API HTML into plain text + MessageEntity dicts (UTF-16 offsets).

    Raises EntityParseError with Telegram's wording when the markup is refused.
    """
    return _Parser(source, strict=strict).run()
