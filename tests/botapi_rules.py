"""Telegram's own rules for text, links and images, as the Bot API stand-in applies them.

Each function here is a port of the code Telegram runs (read through the search look-ups; the
paths are in tdlib's repositories on GitHub), kept close to the original so that the stand-in refuses
what Telegram refuses, in Telegram's words:

- ``parse_html``, ``parse_markdown_v2``, ``parse_markdown``: ``tdlib/td`` ``td/telegram/MessageEntity.cpp``
  (``parse_html``, ``decode_html_entity``, ``parse_markdown_v2``, ``parse_markdown``); their error texts are the
  ones ``test/message_entities.cpp`` checks.
- ``fix_text``: the parts of ``fix_formatted_text`` (same file) a bot can observe: whitespace-only entities
  are dropped, the text is trimmed, an empty result is refused.
- ``parse_url`` and ``check_link``: ``tdutils/td/utils/HttpUrl.cpp`` (``parse_url``) and
  ``td/telegram/LinkManager.cpp`` (``check_link``, ``get_link_user_id``).
- ``image_size``: the Bot API documents which photos ``sendPhoto`` takes; Telegram answers a file that
  is no picture with ``IMAGE_PROCESS_FAILED`` (an MTProto error name). The decoder here only reads the
  headers of PNG, JPEG, GIF, WebP and BMP.

Errors are raised as ``RuleError`` with TDLib's message (e.g. ``Unclosed start tag at byte offset 13``);
the stand-in adds the Bot API's ``Bad Request: ...`` framing.
"""

from __future__ import annotations

import ipaddress
import struct
from dataclasses import dataclass, field


class RuleError(Exception):
    """A refusal, in TDLib's words (the Bot API server prefixes "Bad Request: " and lowers the first letter)."""

    @property
    def message(self) -> str:
        return str(self.args[0])


# --- character classes as td/utils/misc.h defines them (is_space includes NUL: tdlib's loops stop at the end) ---

def _is_space(c: int) -> bool:
    return c in (0x20, 0x09, 0x0D, 0x0A, 0x00, 0x0B, 0x0C)


def _is_digit(c: int) -> bool:
    return 0x30 <= c <= 0x39


def _is_alpha(c: int) -> bool:
    return 0x41 <= c <= 0x5A or 0x61 <= c <= 0x7A


def _is_alnum(c: int) -> bool:
    return _is_digit(c) or _is_alpha(c)


def _is_hex(c: int) -> bool:
    return _is_digit(c) or 0x41 <= c <= 0x46 or 0x61 <= c <= 0x66


def _hex_value(c: int) -> int:
    return int(chr(c), 16)


def _is_first_code_unit(c: int) -> bool:
    return (c & 0xC0) != 0x80


def _ascii_lower(s: str) -> str:
    return "".join(chr(ord(ch) + 32) if "A" <= ch <= "Z" else ch for ch in s)


def _ascii_lower_bytes(b: bytes) -> bytes:
    return bytes(c + 32 if 0x41 <= c <= 0x5A else c for c in b)


def utf16_length(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


# --- entities -------------------------------------------------------------------------------------------------

# sort_entities orders by offset, then longer first, then by TDLib's type priority (MessageEntity.cpp)
_PRIORITY = {
    "blockquote": 0, "expandable_blockquote": 0, "pre": 11, "code": 20, "text_link": 49, "text_mention": 49,
    "mention": 50, "hashtag": 50, "bot_command": 50, "url": 50, "email": 50, "cashtag": 50, "phone_number": 50,
    "bank_card_number": 50, "bold": 90, "italic": 91, "underline": 92, "strikethrough": 93, "spoiler": 94,
    "custom_emoji": 99,
}
# entities that carry data hidden from the text: kept even when they cover whitespace only
_HIDDEN_DATA = {"text_link", "text_mention", "custom_emoji"}


@dataclass
class Entity:
    """A message entity in the Bot API's terms (offsets and lengths in UTF-16 code units)."""

    type: str
    offset: int
    length: int
    url: str | None = None
    language: str | None = None
    user_id: int | None = None
    custom_emoji_id: str | None = None

    def to_dict(self) -> dict:
        d: dict = {"type": self.type, "offset": self.offset, "length": self.length}
        if self.url is not None:
            d["url"] = self.url
        if self.language is not None:
            d["language"] = self.language
        if self.custom_emoji_id is not None:
            d["custom_emoji_id"] = self.custom_emoji_id
        if self.user_id is not None:
            d["user"] = {"id": self.user_id, "is_bot": False, "first_name": ""}
        return d


def sort_entities(entities: list[Entity]) -> list[Entity]:
    return sorted(entities, key=lambda e: (e.offset, -e.length, _PRIORITY.get(e.type, 50)))


def _text_entity_for_link(url: str, offset: int, length: int) -> Entity | None:
    """An <a href> or [text](url): a user link becomes a text mention, a bad link is dropped silently."""
    user_id = get_link_user_id(url)
    if user_id is not None:
        return Entity("text_mention", offset, length, user_id=user_id)
    checked = get_checked_link(url)
    if not checked:
        return None
    return Entity("text_link", offset, length, url=checked)


# --- HTML (MessageEntity.cpp: decode_html_entity, parse_html) ------------------------------------------------

_HTML_TAGS = {
    "a", "b", "strong", "i", "em", "s", "strike", "del", "u", "ins", "tg-spoiler", "tg-emoji", "span", "pre",
    "code", "blockquote",
}


def _decode_html_entity(data: bytes, pos: int) -> tuple[int, int]:
    """(code point, position after the entity), or (0, pos) for text that is no entity."""
    n = len(data)

    def at(i: int) -> int:
        return data[i] if i < n else 0

    end_pos = pos + 1
    res = 0
    if at(pos + 1) == 0x23:  # '#'
        end_pos += 1
        if at(pos + 2) == 0x78:  # 'x'
            end_pos += 1
            while _is_hex(at(end_pos)):
                res = res * 16 + _hex_value(at(end_pos))
                end_pos += 1
        else:
            while _is_digit(at(end_pos)):
                res = res * 10 + at(end_pos) - 0x30
                end_pos += 1
        if res == 0 or res >= 0x10FFFF or end_pos - pos >= 10:
            return 0, pos
    else:
        while _is_alpha(at(end_pos)):
            end_pos += 1
        name = data[pos + 1:end_pos]
        res = {b"lt": 0x3C, b"gt": 0x3E, b"amp": 0x26, b"quot": 0x22}.get(name, 0)
        if res == 0:
            return 0, pos
    if at(end_pos) == 0x3B:  # ';'
        return res, end_pos + 1
    return res, end_pos


def parse_html(text: str) -> tuple[str, list[Entity]]:
    """Telegram's HTML parse mode: the plain text and its entities, or RuleError in TDLib's words."""
    data = text.encode("utf-8")
    n = len(data)

    def at(i: int) -> int:
        return data[i] if i < n else 0

    out = bytearray()
    entities: list[Entity] = []
    utf16 = 0
    need_recheck = False
    nested: list[list] = []  # [tag_name, argument, entity_offset (utf16), entity_begin_pos (in out)]
    i = 0
    while i < n:
        c = data[i]
        if c == 0x26:  # '&'
            code, new_i = _decode_html_entity(data, i)
            if code:
                i = new_i
                utf16 += 1 + (code > 0xFFFF)
                if 0xD800 <= code <= 0xDFFF:
                    need_recheck = True
                out += chr(code).encode("utf-8", "surrogatepass")
                continue
        if c != 0x3C:  # '<'
            if _is_first_code_unit(c):
                utf16 += 1 + (c >= 0xF0)
            out.append(c)
            i += 1
            continue

        begin_pos = i
        i += 1
        if at(i) != 0x2F:  # start tag
            while not _is_space(at(i)) and at(i) != 0x3E:
                i += 1
            if at(i) == 0:
                raise RuleError(f"Unclosed start tag at byte offset {begin_pos}")
            tag_name = _ascii_lower_bytes(data[begin_pos + 1:i]).decode("utf-8", "replace")
            if tag_name not in _HTML_TAGS:
                raise RuleError(f'Unsupported start tag "{tag_name}" at byte offset {begin_pos}')
            argument = ""
            while at(i) != 0x3E:
                while at(i) != 0 and _is_space(at(i)):
                    i += 1
                if at(i) == 0x3E:
                    break
                attribute_begin_pos = i
                while not _is_space(at(i)) and at(i) not in (0x3D, 0x3E):
                    i += 1
                attribute_name = data[attribute_begin_pos:i]
                if not attribute_name:
                    raise RuleError(f'Empty attribute name in the tag "{tag_name}" at byte offset {begin_pos}')
                while at(i) != 0 and _is_space(at(i)):
                    i += 1
                if at(i) != 0x3D:  # '='
                    if tag_name == "blockquote" and attribute_name == b"expandable":
                        argument = "expandable"  # Bot API 7.4: <blockquote expandable>
                        continue
                    raise RuleError(
                        f'Expected equal sign in declaration of an attribute of the tag "{tag_name}" '
                        f"at byte offset {begin_pos}"
                    )
                i += 1
                while at(i) != 0 and _is_space(at(i)):
                    i += 1
                if at(i) == 0:
                    raise RuleError(f'Unclosed start tag "{tag_name}" at byte offset {begin_pos}')
                if at(i) not in (0x27, 0x22):  # a name token
                    token_begin_pos = i
                    while _is_alnum(at(i)) or at(i) in (0x2E, 0x2D):
                        i += 1
                    value = _ascii_lower_bytes(data[token_begin_pos:i])
                    if not _is_space(at(i)) and at(i) != 0x3E:
                        raise RuleError(f"Unexpected end of name token at byte offset {token_begin_pos}")
                else:  # a string literal
                    end_character = at(i)
                    i += 1
                    buf = bytearray()
                    while at(i) != end_character and at(i) != 0:
                        if at(i) == 0x26:
                            code, new_i = _decode_html_entity(data, i)
                            if code:
                                buf += chr(code).encode("utf-8", "surrogatepass")
                                i = new_i
                                continue
                        buf.append(at(i))
                        i += 1
                    if at(i) == end_character:
                        i += 1
                    value = bytes(buf)
                if at(i) == 0:
                    raise RuleError(f"Unclosed start tag at byte offset {begin_pos}")
                value_s = value.decode("utf-8", "replace")
                if tag_name == "a" and attribute_name == b"href":
                    argument = value_s
                elif tag_name == "code" and attribute_name == b"class" and value_s.startswith("language-"):
                    argument = value_s[9:]
                elif tag_name == "span" and attribute_name == b"class" and value_s.startswith("tg-"):
                    argument = value_s[3:]
                elif tag_name == "tg-emoji" and attribute_name == b"emoji-id":
                    argument = value_s
            if tag_name == "span" and argument != "spoiler":
                raise RuleError(f'Tag "span" must have class "tg-spoiler" at byte offset {begin_pos}')
            nested.append([tag_name, argument, utf16, len(out)])
        else:  # end tag
            if not nested:
                raise RuleError(f"Unexpected end tag at byte offset {begin_pos}")
            while not _is_space(at(i)) and at(i) != 0x3E:
                i += 1
            end_tag_name = _ascii_lower_bytes(data[begin_pos + 2:i]).decode("utf-8", "replace")
            while _is_space(at(i)) and at(i) != 0:
                i += 1
            if at(i) != 0x3E:
                raise RuleError(f"Unclosed end tag at byte offset {begin_pos}")
            tag_name, argument, entity_offset, entity_begin_pos = nested[-1]
            if end_tag_name and end_tag_name != tag_name:
                raise RuleError(
                    f'Unmatched end tag at byte offset {begin_pos}, expected "</{tag_name}>", found "</{end_tag_name}>"'
                )
            if utf16 > entity_offset:
                length = utf16 - entity_offset
                entity = _html_entity(tag_name, argument, entity_offset, length, bytes(out[entity_begin_pos:]),
                                      entities)
                if entity is not None:
                    entities.append(entity)
            nested.pop()
        i += 1  # past '>'
    if nested:
        raise RuleError(f"Can't find end tag corresponding to start tag {nested[-1][0]}")
    for entity in entities:
        if entity.type == "code":
            entity.language = None
    try:
        result = bytes(out).decode("utf-8")
    except UnicodeDecodeError:
        if need_recheck:
            raise RuleError(
                "Text contains invalid Unicode characters after decoding HTML entities, check for unmatched "
                "surrogate code units"
            ) from None
        raise RuleError("Strings must be encoded in UTF-8") from None
    return result, sort_entities(entities)


def _html_entity(tag: str, argument: str, offset: int, length: int, inner: bytes,
                 entities: list[Entity]) -> Entity | None:
    if tag in ("i", "em"):
        return Entity("italic", offset, length)
    if tag in ("b", "strong"):
        return Entity("bold", offset, length)
    if tag in ("s", "strike", "del"):
        return Entity("strikethrough", offset, length)
    if tag in ("u", "ins"):
        return Entity("underline", offset, length)
    if tag == "tg-spoiler" or tag == "span":
        return Entity("spoiler", offset, length)
    if tag == "tg-emoji":
        try:
            emoji_id = int(argument)
        except ValueError:
            emoji_id = 0
        if emoji_id == 0 or str(emoji_id) != argument:
            raise RuleError("Invalid custom emoji identifier specified")
        return Entity("custom_emoji", offset, length, custom_emoji_id=str(emoji_id))
    if tag == "a":
        url = argument or inner.decode("utf-8", "replace")
        return _text_entity_for_link(url, offset, length)
    if tag == "pre":
        last = entities[-1] if entities else None
        if last and last.type == "code" and last.offset == offset and last.length == length and last.language:
            last.type = "pre"
            return None
        return Entity("pre", offset, length)
    if tag == "code":
        last = entities[-1] if entities else None
        if last and last.type == "pre" and last.offset == offset and last.length == length and argument:
            last.language = argument
            return None
        return Entity("code", offset, length, language=argument or None)
    if tag == "blockquote":
        return Entity("expandable_blockquote" if argument == "expandable" else "blockquote", offset, length)
    raise AssertionError(tag)


# --- MarkdownV2 and Markdown (MessageEntity.cpp: parse_markdown_v2, parse_markdown) ---------------------------

_V2_TYPE_NAMES = {
    "bold": "Bold", "italic": "Italic", "underline": "Underline", "strikethrough": "Strikethrough",
    "spoiler": "Spoiler", "code": "Code", "pre": "Pre", "pre_code": "PreCode", "text_link": "TextUrl",
    "custom_emoji": "CustomEmoji", "blockquote": "BlockQuote",
}


def parse_markdown_v2(text: str) -> tuple[str, list[Entity]]:
    data = text.encode("utf-8")
    n = len(data)

    def at(i: int) -> int:
        return data[i] if i < n else 0

    out = bytearray()
    entities: list[Entity] = []
    utf16 = 0
    nested: list[list] = []  # [type, argument, entity_offset, entity_byte_offset, entity_begin_pos]
    have_blockquote = False

    def reserved_error(ch: int) -> RuleError:
        return RuleError(f"Character '{chr(ch)}' is reserved and must be escaped with the preceding '\\'")

    i = 0
    while i < n:
        c = data[i]
        if c == 0x5C and 0 < at(i + 1) <= 126:  # '\\'
            i += 1
            utf16 += 1
            out.append(data[i])
            i += 1
            continue
        reserved = b"_*[]()~`>#+-=|{}.!\n"
        if nested and nested[-1][0] in ("code", "pre", "pre_code"):
            reserved = b"`"
        if c not in reserved:
            if _is_first_code_unit(c):
                utf16 += 1 + (c >= 0xF0)
            out.append(c)
            i += 1
            continue

        is_end = False
        if nested:
            top = nested[-1][0]
            if have_blockquote and c == 0x0A and (i + 1 == n or at(i + 1) != 0x3E):
                is_end = True
            elif top == "bold":
                is_end = c == 0x2A
            elif top == "italic":
                is_end = c == 0x5F and at(i + 1) != 0x5F
            elif top == "code":
                is_end = c == 0x60
            elif top in ("pre", "pre_code"):
                is_end = c == 0x60 and at(i + 1) == 0x60 and at(i + 2) == 0x60
            elif top in ("text_link", "custom_emoji"):
                is_end = c == 0x5D
            elif top == "underline":
                is_end = c == 0x5F and at(i + 1) == 0x5F
            elif top == "strikethrough":
                is_end = c == 0x7E
            elif top == "spoiler":
                is_end = c == 0x7C and at(i + 1) == 0x7C

        if not is_end:
            kind: str | None
            argument = ""
            entity_byte_offset = i
            if c == 0x5F:
                if at(i + 1) == 0x5F:
                    kind = "underline"
                    i += 1
                else:
                    kind = "italic"
            elif c == 0x2A:
                kind = "bold"
            elif c == 0x7E:
                kind = "strikethrough"
            elif c == 0x7C:
                if at(i + 1) != 0x7C:
                    raise reserved_error(c)
                i += 1
                kind = "spoiler"
            elif c == 0x5B:
                kind = "text_link"
            elif c == 0x60:
                if at(i + 1) == 0x60 and at(i + 2) == 0x60:
                    i += 3
                    kind = "pre"
                    language_end = i
                    while not _is_space(at(language_end)) and at(language_end) != 0x60:
                        language_end += 1
                    if i != language_end and language_end < n and at(language_end) != 0x60:
                        kind = "pre_code"
                        argument = data[i:language_end].decode("utf-8", "replace")
                        i = language_end
                    if at(i) in (0x0A, 0x0D):  # skip one new line in the beginning of the text
                        if at(i + 1) in (0x0A, 0x0D) and at(i) != at(i + 1):
                            i += 2
                        else:
                            i += 1
                    i -= 1
                else:
                    kind = "code"
            elif c == 0x21:
                if at(i + 1) != 0x5B:
                    raise reserved_error(c)
                i += 1
                kind = "custom_emoji"
            elif c == 0x0A:
                utf16 += 1
                out.append(0x0A)
                kind = None
                if i + 1 < n and at(i + 1) == 0x3E:
                    i += 1
                    if not have_blockquote:
                        kind = "blockquote"
                        have_blockquote = True
            elif c == 0x3E:
                if i != 0:
                    raise reserved_error(c)
                kind = "blockquote"
                have_blockquote = True
            else:
                raise reserved_error(c)
            if kind is not None:
                nested.append([kind, argument, utf16, entity_byte_offset, len(out)])
            i += 1
            continue

        kind, argument, entity_offset, entity_byte_offset, entity_begin_pos = nested[-1]
        if c == 0x0A and kind != "blockquote":
            raise RuleError(f"Can't find end of {_V2_TYPE_NAMES[kind]} entity at byte offset {entity_byte_offset}")
        skip = utf16 == entity_offset
        link_entity: Entity | None = None
        custom_emoji_id: str | None = None
        if kind in ("underline", "spoiler"):
            i += 1
        elif kind in ("pre", "pre_code"):
            i += 2
        elif kind in ("text_link", "custom_emoji"):
            if kind == "custom_emoji" and at(i + 1) != 0x28:
                raise RuleError("Custom emoji entity must contain a tg://emoji URL")
            if at(i + 1) != 0x28:  # use the text as the URL
                url = bytes(out[entity_begin_pos:]).decode("utf-8", "replace")
            else:
                i += 2
                url_begin_pos = i
                buf = bytearray()
                while i < n and at(i) != 0x29:
                    if at(i) == 0x5C and 0 < at(i + 1) <= 126:
                        buf.append(at(i + 1))
                        i += 2
                        continue
                    buf.append(at(i))
                    i += 1
                if at(i) != 0x29:
                    what = "a custom emoji URL" if kind == "custom_emoji" else "a URL"
                    raise RuleError(f"Can't find end of {what} at byte offset {url_begin_pos}")
                url = bytes(buf).decode("utf-8", "replace")
            if kind == "custom_emoji":
                custom_emoji_id = get_link_custom_emoji_id(url)
            else:
                link_entity = _text_entity_for_link(url, entity_offset, utf16 - entity_offset)
                if link_entity is None:
                    skip = True
        elif kind == "blockquote":
            have_blockquote = False
            out.append(data[i])
            utf16 += 1
        if not skip:
            length = utf16 - entity_offset
            if link_entity is not None:
                entities.append(link_entity)
            elif kind == "custom_emoji":
                entities.append(Entity("custom_emoji", entity_offset, length, custom_emoji_id=custom_emoji_id))
            elif kind == "pre_code":
                entities.append(Entity("pre", entity_offset, length, language=argument))
            else:
                entities.append(Entity(kind, entity_offset, length))
        nested.pop()
        i += 1
    if have_blockquote and nested and nested[-1][0] == "blockquote":
        entity_offset = nested[-1][2]
        if utf16 != entity_offset:
            entities.append(Entity("blockquote", entity_offset, utf16 - entity_offset))
        nested.pop()
    if nested:
        kind, _, _, entity_byte_offset, _ = nested[-1]
        raise RuleError(f"Can't find end of {_V2_TYPE_NAMES[kind]} entity at byte offset {entity_byte_offset}")
    return bytes(out).decode("utf-8"), sort_entities(entities)


def parse_markdown(text: str) -> tuple[str, list[Entity]]:
    """The legacy "Markdown" mode."""
    data = text.encode("utf-8")
    n = len(data)

    def at(i: int) -> int:
        return data[i] if i < n else 0

    out = bytearray()
    entities: list[Entity] = []
    utf16 = 0
    i = 0
    while i < n:
        c = data[i]
        if c == 0x5C and at(i + 1) in (0x5F, 0x2A, 0x60, 0x5B):
            i += 1
            out.append(data[i])
            utf16 += 1
            i += 1
            continue
        if c not in (0x5F, 0x2A, 0x60, 0x5B):
            if _is_first_code_unit(c):
                utf16 += 1 + (c >= 0xF0)
            out.append(c)
            i += 1
            continue
        begin_pos = i
        end_character = 0x5D if c == 0x5B else c
        is_pre = False
        i += 1
        language = ""
        if c == 0x60 and at(i) == 0x60 and at(i + 1) == 0x60:
            i += 2
            is_pre = True
            language_end = i
            while not _is_space(at(language_end)) and at(language_end) != 0x60:
                language_end += 1
            if i != language_end and language_end < n and at(language_end) != 0x60:
                language = data[i:language_end].decode("utf-8", "replace")
                i = language_end
            if at(i) in (0x0A, 0x0D):
                if at(i + 1) in (0x0A, 0x0D) and at(i) != at(i + 1):
                    i += 2
                else:
                    i += 1
        entity_offset = utf16
        while i < n and (at(i) != end_character or (is_pre and not (at(i + 1) == 0x60 and at(i + 2) == 0x60))):
            if _is_first_code_unit(data[i]):
                utf16 += 1 + (data[i] >= 0xF0)
            out.append(data[i])
            i += 1
        if i == n:
            raise RuleError(f"Can't find end of the entity starting at byte offset {begin_pos}")
        if entity_offset != utf16:
            length = utf16 - entity_offset
            if c == 0x5F:
                entities.append(Entity("italic", entity_offset, length))
            elif c == 0x2A:
                entities.append(Entity("bold", entity_offset, length))
            elif c == 0x5B:
                if at(i + 1) != 0x28:
                    url = data[begin_pos + 1:i].decode("utf-8", "replace")
                else:
                    i += 2
                    start = i
                    while i < n and at(i) != 0x29:
                        i += 1
                    url = data[start:i].decode("utf-8", "replace")
                entity = _text_entity_for_link(url, entity_offset, length)
                if entity is not None:
                    entities.append(entity)
            elif is_pre:
                entities.append(Entity("pre", entity_offset, length, language=language or None))
            else:
                entities.append(Entity("code", entity_offset, length))
        if is_pre:
            i += 2
        i += 1
    return bytes(out).decode("utf-8"), sort_entities(entities)


PARSE_MODES = {"html": parse_html, "markdownv2": parse_markdown_v2, "markdown": parse_markdown}


# --- fix_formatted_text: what Telegram keeps of a formatted text ---------------------------------------------

def _units(text: str) -> list[int]:
    raw = text.encode("utf-16-le")
    return list(struct.unpack(f"<{len(raw) // 2}H", raw))


def _from_units(units: list[int]) -> str:
    return struct.pack(f"<{len(units)}H", *units).decode("utf-16-le")


def fix_text(text: str, entities: list[Entity], *, allow_empty: bool = False) -> tuple[str, list[Entity]]:
    """Drop empty and whitespace-only entities, trim spaces and newlines, refuse an empty text."""
    units = _units(text)
    ws = (0x20, 0x0A)
    kept = []
    for e in entities:
        if e.length <= 0 or e.offset < 0 or e.offset + e.length > len(units):
            if e.offset < 0 or e.offset > 1000000:
                raise RuleError(f"Receive an entity with incorrect offset {e.offset}")
            if e.length < 0 or e.length > 1000000:
                raise RuleError(f"Receive an entity with incorrect length {e.length}")
            if e.length <= 0:
                continue
            if e.offset + e.length > len(units):
                raise RuleError(
                    f"Entity beginning at UTF-16 offset {e.offset} ends after the end of the text at UTF-16 offset "
                    f"{e.offset + e.length}"
                )
        if e.type not in _HIDDEN_DATA:
            while e.length > 0 and units[e.offset] in ws:
                e.offset += 1
                e.length -= 1
            if e.length == 0 or all(u in ws for u in units[e.offset:e.offset + e.length]):
                continue
        kept.append(e)
    last = len(units) - 1
    while last >= 0 and units[last] in ws:
        last -= 1
    if last < 0:
        if allow_empty:
            return "", []
        raise RuleError("Message must be non-empty")
    units = units[:last + 1]
    kept = [e for e in kept if e.offset <= last]
    for e in kept:
        e.length = min(e.length, last + 1 - e.offset)
    first_entity = min((e.offset for e in kept), default=len(units))
    first = 0
    while first < first_entity and units[first] in ws:
        first += 1
    units = units[first:]
    for e in kept:
        e.offset -= first
    return _from_units(units), sort_entities(kept)


# --- links (HttpUrl.cpp parse_url, LinkManager.cpp check_link / get_link_user_id) -----------------------------

@dataclass
class HttpUrl:
    protocol: str  # "http" or "https"
    userinfo: str
    host: str
    is_ipv6: bool
    specified_port: int
    port: int
    query: str = field(default="/")

    def get_url(self) -> str:
        result = f"{self.protocol}://"
        if self.userinfo:
            result += self.userinfo + "@"
        result += self.host
        if self.specified_port > 0:
            result += f":{self.specified_port}"
        return result + self.query


def _to_integer_safe(s: str) -> int | None:
    """td::to_integer_safe: the whole string is the decimal form of the number, or it is an error."""
    if not s or not (s.isascii() and (s.isdigit() or (s[0] == "-" and s[1:].isdigit()))):
        return None
    value = int(s)
    return value if str(value) == s else None


def parse_url(url: str, default_protocol: str = "http") -> HttpUrl:
    stop = ":/?#@[]"
    k = 0
    while k < len(url) and url[k] not in stop:
        k += 1
    protocol_str = _ascii_lower(url[:k])
    if url.startswith("://", k):
        if protocol_str not in ("http", "https"):
            raise RuleError("Unsupported URL protocol")
        protocol = protocol_str
        rest = url[k + 3:]
    else:
        protocol = default_protocol
        rest = url
    k = 0
    while k < len(rest) and rest[k] not in "/?#":
        k += 1
    userinfo_host_port, query = rest[:k], rest[k:]

    port = 0
    colon = len(userinfo_host_port) - 1
    while colon > 0 and userinfo_host_port[colon] not in ":]@":
        colon -= 1
    if colon > 0 and userinfo_host_port[colon] == ":":
        port_slice = userinfo_host_port[colon + 1:]
        while len(port_slice) > 1 and port_slice[0] == "0":
            port_slice = port_slice[1:]
        parsed = _to_integer_safe(port_slice)
        port = -1 if parsed is None or parsed == 0 else parsed
        userinfo_host = userinfo_host_port[:colon]
    else:
        userinfo_host = userinfo_host_port
    if port < 0 or port > 65535:
        raise RuleError("Wrong port number specified in the URL")

    at_pos = userinfo_host.rfind("@")
    userinfo = userinfo_host[:at_pos] if at_pos >= 0 else ""
    host = userinfo_host[at_pos + 1:]

    is_ipv6 = False
    if host and host[0] == "[" and host[-1] == "]":
        try:
            ipaddress.IPv6Address(host[1:-1])
        except ValueError:
            raise RuleError("Wrong IPv6 address specified in the URL") from None
        is_ipv6 = True
    if not host:
        raise RuleError("URL host is empty")
    if host == ".":
        raise RuleError("Host is invalid")

    specified_port = port
    if port == 0:
        port = 80 if protocol == "http" else 443

    while query and (_is_space(ord(query[-1])) if ord(query[-1]) < 128 else False):
        query = query[:-1]
    if not query:
        query = "/"
    query_str = "" if query[0] == "/" else "/"
    for ch in query:
        if ord(ch) <= 0x20:
            query_str += "%" + "0123456789ABCDEF"[ord(ch) // 16] + "0123456789ABCDEF"[ord(ch) % 16]
        else:
            query_str += ch

    host_str = _ascii_lower(host)
    allowed = set("abcdefghijklmnopqrstuvwxyz.0123456789-_!$,~*'();&+=")
    j = 0
    while j < len(host_str):
        ch = host_str[j]
        if is_ipv6:
            if j == 0 or j + 1 == len(host_str) or ch == ":" or ch in "0123456789abcdef.":
                j += 1
                continue
            raise RuleError("Wrong IPv6 URL host")
        if ch in allowed or ord(ch) >= 128:
            j += 1
            continue
        if ch == "%":
            pair = host_str[j + 1:j + 3]
            if len(pair) == 2 and all(p in "0123456789abcdef" for p in pair):
                j += 3
                continue
            raise RuleError("Wrong percent-encoded symbol in URL host")
        raise RuleError("Wrong URL host")
    return HttpUrl(protocol, userinfo, host_str, is_ipv6, specified_port, port, query_str)


def check_link(link: str, *, http_only: bool = False, https_only: bool = False) -> str:
    """The link as Telegram normalizes it (e.g. ``example.org`` -> ``http://example.org/``), or RuleError
    ``URL '<link>' is invalid: <reason>`` (callers prefix "Inline keyboard button ", "Entity ", ...: the
    Bot API answers e.g. "Bad Request: inline keyboard button URL 'grammy' is invalid: Wrong HTTP URL")."""
    try:
        return _check_link(link, http_only=http_only, https_only=https_only)
    except RuleError as error:
        raise RuleError(f"URL '{link}' is invalid: {error.message}") from None


def _check_link(link: str, *, http_only: bool, https_only: bool) -> str:
    is_tg = is_ton = False
    if _ascii_lower(link[:3]) == "tg:":
        link, is_tg = link[3:], True
    elif _ascii_lower(link[:4]) == "ton:":
        link, is_ton = link[4:], True
    if (is_tg or is_ton) and link.startswith("//"):
        link = link[2:]
    url = parse_url(link)
    if https_only and (url.protocol != "https" or is_tg or is_ton):
        raise RuleError("Only HTTPS links are allowed")
    if is_tg or is_ton:
        if http_only:
            raise RuleError("Only HTTP links are allowed")
        if (_ascii_lower(link[:7]) == "http://" or url.protocol == "https" or url.userinfo
                or url.specified_port != 0 or url.is_ipv6):
            raise RuleError("Wrong tg URL" if is_tg else "Wrong ton URL")
        query = url.query
        if len(query) > 1 and query[1] == "?":
            query = query[1:]
        for ch in url.host:
            if not (ch.isascii() and ch.isalnum()) and ch not in "-_":
                raise RuleError("Unallowed characters in URL host")
        return f"{'tg' if is_tg else 'ton'}://{url.host}{query}"
    if "." not in url.host and not url.is_ipv6:
        raise RuleError("Wrong HTTP URL")
    return url.get_url()


def get_checked_link(link: str) -> str:
    try:
        return check_link(link)
    except RuleError:
        return ""


def _tg_link_args(url: str, host: str) -> dict[str, str] | None:
    url = _ascii_lower(url)
    if not url.startswith("tg:"):
        return None
    url = url[3:]
    url = url.removeprefix("//")
    if not url.startswith(host) or (len(url) > len(host) and url[len(host)] not in "/?#"):
        return None
    url = url[len(host):]
    url = url.removeprefix("/")
    if not url.startswith("?"):
        return None
    url = url[1:].split("#", 1)[0]
    args = {}
    for part in url.split("&"):
        key, _, value = part.partition("=")
        args.setdefault(key, value)
    return args


def get_link_user_id(url: str) -> int | None:
    """``tg://user?id=123`` -> 123 (LinkManager::get_link_user_id); None for any other link."""
    args = _tg_link_args(url, "user")
    if not args or "id" not in args:
        return None
    value = _to_integer_safe(args["id"])
    return value if value is not None and value > 0 else None


def get_link_custom_emoji_id(url: str) -> str:
    lowered = _ascii_lower(url)
    if not lowered.startswith("tg:"):
        raise RuleError("Custom emoji URL must have scheme tg")
    args = _tg_link_args(url, "emoji")
    if args is None:
        rest = lowered[3:].lstrip("/")
        if not rest.startswith("emoji"):
            raise RuleError('Custom emoji URL must have host "emoji"')
        raise RuleError("Custom emoji URL must have an emoji identifier")
    if "id" not in args:
        raise RuleError("Custom emoji URL must have an emoji identifier")
    value = _to_integer_safe(args["id"])
    if not value:
        raise RuleError("Invalid custom emoji identifier specified")
    return str(value)


# --- images ---------------------------------------------------------------------------------------------------

def image_size(data: bytes) -> tuple[str, int, int] | None:
    """(format, width, height) read from a PNG, JPEG, GIF, WebP or BMP header; None for anything else."""
    if data.startswith(b"\x89PNG\r\n\x1a\n") and len(data) >= 24 and data[12:16] == b"IHDR":
        w, h = struct.unpack(">II", data[16:24])
        return ("png", w, h) if w and h else None
    if data[:6] in (b"GIF87a", b"GIF89a") and len(data) >= 10:
        w, h = struct.unpack("<HH", data[6:10])
        return ("gif", w, h) if w and h else None
    if data.startswith(b"BM") and len(data) >= 26:
        w, h = struct.unpack("<ii", data[18:26])
        return ("bmp", abs(w), abs(h)) if w and h else None
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP" and len(data) >= 30:
        chunk = data[12:16]
        if chunk == b"VP8 " and data[23:26] == b"\x9d\x01\x2a":
            w, h = struct.unpack("<HH", data[26:30])
            return "webp", w & 0x3FFF, h & 0x3FFF
        if chunk == b"VP8L" and data[20] == 0x2F:
            bits = int.from_bytes(data[21:25], "little")
            return "webp", (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
        if chunk == b"VP8X":
            return "webp", int.from_bytes(data[24:27], "little") + 1, int.from_bytes(data[27:30], "little") + 1
        return None
    if data.startswith(b"\xff\xd8"):
        i = 2
        while i + 4 <= len(data):
            if data[i] != 0xFF:
                return None
            marker = data[i + 1]
            if marker == 0xFF:
                i += 1
                continue
            if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:
                i += 2
                continue
            (seg_len,) = struct.unpack(">H", data[i + 2:i + 4])
            if marker in (0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF):
                if i + 9 > len(data):
                    return None
                h, w = struct.unpack(">HH", data[i + 5:i + 9])
                return ("jpeg", w, h) if w and h else None
            if marker in (0xD9, 0xDA):
                return None
            i += 2 + seg_len
        return None
    return None
