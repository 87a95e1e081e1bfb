"""Telegram's MarkdownV2 and legacy Markdown parse modes for the fake Bot API server.

Follows tdlib's ``parse_markdown_v2`` / ``parse_markdown``: reserved characters must be
escaped with ``\\`` outside code, every entity must be closed, offsets are UTF-16.
Blockquotes are supported line by line (``>`` at a line start; a quote whose last line
ends with ``||`` is expandable, ``**>`` may open it).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tests.fakes.telegram_html import EntityParseError, ParsedText, normalize_url, utf16_len

__all__ = ["parse_markdown", "parse_markdown_v2"]

_RESERVED = "_*[]()~`>#+-=|{}.!"
_NAMES = {
    "bold": "Bold",
    "italic": "Italic",
    "underline": "Underline",
    "strikethrough": "Strikethrough",
    "spoiler": "Spoiler",
    "code": "Code",
    "pre": "Pre",
    "text_link": "TextUrl",
    "custom_emoji": "CustomEmoji",
}


@dataclass
class _Open:
    kind: str
    start: int  # UTF-16 offset in the output
    byte: int  # byte offset of the opening marker in the source
    language: str = ""
    out_index: int = 0  # len(output pieces) when opened


def _reserved_error(char: str) -> EntityParseError:
    return EntityParseError(
        f"Character '{char}' is reserved and must be escaped with the preceding '\\'"
    )


class _MarkdownV2:
    def __init__(self, source: str) -> None:
        self.src = source
        self.i = 0
        self.out: list[str] = []
        self.u16 = 0
        self.stack: list[_Open] = []
        self.entities: list[dict[str, Any]] = []
        self.quote: _Open | None = None

    def peek(self, offset: int = 0) -> str:
        index = self.i + offset
        return self.src[index] if index < len(self.src) else ""

    def byte(self, index: int | None = None) -> int:
        return len(self.src[: self.i if index is None else index].encode("utf-8"))

    def emit(self, text: str) -> None:
        self.out.append(text)
        self.u16 += utf16_len(text)

    def add(self, kind: str, start: int, **extra: Any) -> None:
        if self.u16 > start:
            self.entities.append(
                {"type": kind, "offset": start, "length": self.u16 - start, **extra}
            )

    def in_code(self) -> bool:
        return bool(self.stack) and self.stack[-1].kind in ("code", "pre")

    def run(self) -> ParsedText:
        while self.i < len(self.src):
            if self.at_line_start() and not self.in_code():
                self.line_start()
            char = self.peek()
            if char == "\\" and self.peek(1) and ord(self.peek(1)) <= 126:
                self.emit(self.peek(1))
                self.i += 2
                continue
            if char == "\n" and self.quote is not None and not self.peek(1).startswith(">"):
                self.end_quote()
            reserved = "`" if self.in_code() else _RESERVED
            if char not in reserved:
                self.emit(char)
                self.i += 1
                continue
            if self.closes():
                self.close()
            else:
                self.open()
        if self.stack:
            top = self.stack[-1]
            name = _NAMES.get(top.kind, top.kind)
            raise EntityParseError(f"Can't find end of {name} entity at byte offset {top.byte}")
        if self.quote is not None:
            self.end_quote()
        self.entities.sort(key=lambda entity: (entity["offset"], -entity["length"]))
        return ParsedText("".join(self.out), self.entities)

    def at_line_start(self) -> bool:
        return self.i == 0 or self.src[self.i - 1] == "\n"

    def line_start(self) -> None:
        # "**>" is an empty bold entity followed by a quote marker
        marker = 3 if self.src.startswith("**>", self.i) else 1 if self.peek() == ">" else 0
        if marker:
            if self.quote is None:
                self.quote = _Open("blockquote", self.u16, self.byte())
            self.i += marker

    def end_quote(self, *, expandable: bool = False) -> None:
        assert self.quote is not None
        self.add("expandable_blockquote" if expandable else "blockquote", self.quote.start)
        self.quote = None

    def closes(self) -> bool:
        if not self.stack:
            return False
        kind, char = self.stack[-1].kind, self.peek()
        if kind == "bold":
            return char == "*"
        if kind == "italic":
            return char == "_" and self.peek(1) != "_"
        if kind == "underline":
            return char == "_" and self.peek(1) == "_"
        if kind == "strikethrough":
            return char == "~"
        if kind == "spoiler":
            return char == "|" and self.peek(1) == "|"
        if kind == "code":
            return char == "`"
        if kind == "pre":
            return self.src.startswith("```", self.i)
        return char == "]"  # text_link, custom_emoji

    def open(self) -> None:
        char, start, byte = self.peek(), self.u16, self.byte()
        # "||" closing the last line of a quote makes it expandable
        line_ends = self.src[self.i + 2 : self.i + 3] in ("", "\n")
        if self.src.startswith("||", self.i) and self.quote is not None and line_ends:
            self.i += 2
            self.end_quote(expandable=True)
            return
        if char == "_" and self.peek(1) == "_":
            kind, step = "underline", 2
        elif char in "_*~[":
            kind, step = (
                {"_": "italic", "*": "bold", "~": "strikethrough", "[": "text_link"}[char],
                1,
            )
        elif char == "|" and self.peek(1) == "|":
            kind, step = "spoiler", 2
        elif char == "!" and self.peek(1) == "[":
            kind, step = "custom_emoji", 2
        elif self.src.startswith("```", self.i):
            self.open_pre(byte)
            return
        elif char == "`":
            kind, step = "code", 1
        else:
            raise _reserved_error(char)
        self.stack.append(_Open(kind, start, byte, out_index=len(self.out)))
        self.i += step

    def open_pre(self, byte: int) -> None:
        self.i += 3
        end = self.i
        while end < len(self.src) and not self.src[end].isspace() and self.src[end] != "`":
            end += 1
        language = ""
        if end != self.i and end < len(self.src) and self.src[end] != "`":
            language = self.src[self.i : end]
            self.i = end
        if self.peek() in ("\n", "\r"):
            self.i += 2 if self.peek(1) in ("\n", "\r") and self.peek(1) != self.peek() else 1
        self.stack.append(_Open("pre", self.u16, byte, language))

    def close(self) -> None:
        top = self.stack.pop()
        step = {"underline": 2, "spoiler": 2, "pre": 3}.get(top.kind, 1)
        self.i += step
        if top.kind not in ("text_link", "custom_emoji"):
            self.add(top.kind, top.start, **({"language": top.language} if top.language else {}))
            return
        url = ""
        if self.peek() == "(":
            url_begin = self.i
            self.i += 1
            chars: list[str] = []
            while self.i < len(self.src) and self.peek() != ")":
                if self.peek() == "\\" and self.peek(1):
                    self.i += 1
                chars.append(self.peek())
                self.i += 1
            if self.i >= len(self.src):
                raise EntityParseError(
                    f"Can't find end of a URL at byte offset {self.byte(url_begin + 1)}"
                )
            self.i += 1
            url = "".join(chars)
        elif top.kind == "text_link":
            url = "".join(self.out[top.out_index :])
        if top.kind == "custom_emoji":
            emoji_id = url.removeprefix("tg://emoji?id=")
            if not url.startswith("tg://emoji?id=") or not emoji_id.isdigit():
                raise EntityParseError("Custom emoji entity must contain a tg://emoji URL")
            self.add("custom_emoji", top.start, custom_emoji_id=emoji_id)
            return
        normalized = normalize_url(url)
        if normalized is not None:
            self.add("text_link", top.start, url=normalized)


def parse_markdown_v2(source: str) -> ParsedText:
    return _MarkdownV2(source).run()


def parse_markdown(source: str) -> ParsedText:
    """Legacy Markdown: *bold* _italic_ `code` ```pre``` [text](url), no escaping rules."""
    out: list[str] = []
    entities: list[dict[str, Any]] = []
    u16, i = 0, 0
    markers = {"*": "bold", "_": "italic", "`": "code"}
    while i < len(source):
        char = source[i]
        if char == "\\" and i + 1 < len(source) and source[i + 1] in "*_`[":
            out.append(source[i + 1])
            u16 += 1
            i += 2
            continue
        if char not in "*_`[":
            out.append(char)
            u16 += utf16_len(char)
            i += 1
            continue
        begin = len(source[:i].encode("utf-8"))
        if source.startswith("```", i):
            end = source.find("```", i + 3)
            kind, body, after = "pre", source[i + 3 : end], end + 3
        elif char == "[":
            end = source.find("]", i + 1)
            has_url = end != -1 and source.startswith("(", end + 1)
            close = source.find(")", end + 2) if has_url else -1
            if close == -1:
                end = -1
            kind, body, after = "text_link", source[i + 1 : end], close + 1
        else:
            end = source.find(char, i + 1)
            kind, body, after = markers[char], source[i + 1 : end], end + 1
        if end == -1:
            raise EntityParseError(f"Can't find end of the entity starting at byte offset {begin}")
        entity: dict[str, Any] = {"type": kind, "offset": u16, "length": utf16_len(body)}
        if kind == "text_link":
            url = normalize_url(source[end + 2 : after - 1])
            entity["url"] = url
        if body and entity.get("url", "") is not None:
            entities.append(entity)
        out.append(body)
        u16 += utf16_len(body)
        i = after
    return ParsedText("".join(out), entities)
