"""Article files to :class:`ArticleRecord`: plain text, Markdown, JSON, JSON Lines and HTML.

Reading never raises on bad input: a file that cannot be used raises :class:`SkipFile` with one
sentence saying why, and a multi-record file reports its bad records as notes while the rest lands.
"""

from __future__ import annotations

import hashlib
import json
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any

from bot.models import ArticleRecord
from bot.text import strip_invisible

SUPPORTED_SUFFIXES = frozenset({".txt", ".md", ".markdown", ".json", ".jsonl", ".html", ".htm"})
DERIVED_TITLE_MAX = 100
_SENTENCE_END = re.compile(r"(?<=[.!?])[\"'”’)]*\s+(?=[\"'“‘(]?[A-Z0-9])")
_BLANK_LINES = re.compile(r"\n\s*\n\s*")
_INLINE_SPACE = re.compile(r"[ \t\f\v\u00a0]+")
_FRONT_MATTER = re.compile(r"\A---[ \t]*\n(.*?)\n---[ \t]*\n", re.DOTALL)
# Markdown patterns run over whole files in single calls that hold the GIL, so each must be linear: no
# part may scan past the next character that could start or end another match ("[", "]", the emphasis
# mark itself), so that every character is looked at a bounded number of times.
_MD_IMAGE = re.compile(r"!\[([^\[\]]*)\]\([^)\]]*\)")
_MD_LINK = re.compile(r"\[([^\[\]]+)\]\([^)\]]*\)")
_MD_EMPHASIS = re.compile(
    r"\*\*(?=\S)([^*\n]+?)(?<=\S)\*\*|__(?=\S)([^_\n]+?)(?<=\S)__"
    r"|\*(?=\S)([^*\n]+?)(?<=\S)\*|_(?=\S)([^_\n]+?)(?<=\S)_|`(?=\S)([^`\n]+?)(?<=\S)`"
)
_MD_FENCE_CLOSE = re.compile(r"```[ \t]*")
_MD_HEADING = re.compile(r"^#{1,6}\s+", re.MULTILINE)
_MD_QUOTE = re.compile(r"^>\s?", re.MULTILINE)


class SkipFile(Exception):
    """The file cannot be indexed; the message says why in a few words."""


@dataclass(slots=True)
class FileContents:
    """The records read from one file, and notes about records that were left out."""

    records: list[ArticleRecord] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def normalise_text(text: str) -> str:
    """Unicode-normalised text with Unix newlines, single spaces and paragraphs split by one blank line,
    without control, bidirectional or zero-width characters."""
    text = unicodedata.normalize("NFC", strip_invisible(text)).replace("\r\n", "\n").replace("\r", "\n")
    text = "".join(ch for ch in text if ch in "\n\t" or unicodedata.category(ch) != "Cc")
    lines = [_INLINE_SPACE.sub(" ", line).strip() for line in text.split("\n")]
    return _BLANK_LINES.sub("\n\n", "\n".join(lines)).strip()


def cap_text(text: str, limit: int) -> str:
    """``text`` cut to at most ``limit`` characters: at the last space or line break before the limit
    when one is in the second half of the text kept, else exactly at the limit."""
    if len(text) <= limit:
        return text
    cut = text[:limit]
    boundary = max(cut.rfind(" "), cut.rfind("\n"))
    return (cut[:boundary] if boundary > limit // 2 else cut).rstrip()


def content_hash(body: str) -> str:
    """Identity of an article's text: case and spacing do not make two texts different articles."""
    canonical = " ".join(body.casefold().split())
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def derive_title(body: str) -> str:
    """A headline made from the first sentence, cut at a word boundary when long."""
    first = body.split("\n", 1)[0].strip()
    first = _SENTENCE_END.split(first, 1)[0].strip()
    if len(first) <= DERIVED_TITLE_MAX:
        return first
    cut = first[: DERIVED_TITLE_MAX - 1].rsplit(" ", 1)[0].rstrip(",;:—-")
    return cut + "…"


def parse_published(value: Any) -> datetime | None:
    """A publication time from ISO 8601, RFC 2822 or a Unix timestamp; naive times are taken as UTC."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, int | float) and not isinstance(value, bool):
        try:
            return datetime.fromtimestamp(float(value), UTC)
        except (OverflowError, OSError, ValueError):
            return None
    else:
        text = str(value).strip()
        try:
            moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            try:
                moment = parsedate_to_datetime(text)
            except (TypeError, ValueError, IndexError):
                return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def decode_bytes(data: bytes) -> str:
    """Text from bytes: UTF-8 first, then Windows-1252, then Latin-1 (which always succeeds).

    Raises :class:`SkipFile` for binary data, recognised by NUL bytes or many control characters.
    """
    sample = data[:8192]
    if b"\x00" in sample:
        raise SkipFile("binary file (contains NUL bytes)")
    controls = sum(1 for b in sample if b < 32 and b not in (9, 10, 12, 13))
    if sample and controls / len(sample) > 0.05:
        raise SkipFile("binary file (mostly control bytes)")
    for encoding in ("utf-8-sig", "cp1252", "latin-1"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise AssertionError("latin-1 decodes every byte string")  # pragma: no cover


def _record(
    *,
    origin: str,
    file: str,
    body: str,
    title: str | None,
    published: datetime | None,
    file_time: datetime,
    source: str | None = None,
    url: str | None = None,
) -> ArticleRecord:
    """The record of one article; without a ``published`` date of its own it takes ``file_time``."""
    body = normalise_text(body)
    if not body:
        raise SkipFile("no article text")
    clean_title = " ".join(strip_invisible(title or "").split())
    return ArticleRecord(
        origin=origin,
        file=file,
        title=clean_title or derive_title(body),
        title_derived=not clean_title,
        body=body,
        content_hash=content_hash(body),
        published=published or file_time,
        date_known=published is not None,
        source=(source or "").strip() or None,
        url=(url or "").strip() or None,
    )


def _split_headline(text: str) -> tuple[str | None, str]:
    """Line 1 is the headline when a blank line follows it."""
    parts = text.split("\n", 2)
    if len(parts) == 3 and not parts[1].strip() and parts[0].strip() and parts[2].strip():
        return parts[0].strip(), parts[2]
    return None, text


def _read_txt(text: str, path: str, mtime: datetime) -> FileContents:
    title, body = _split_headline(normalise_text(text))
    return FileContents([_record(origin=path, file=path, body=body, title=title, published=None, file_time=mtime)])


def _front_matter(block: str) -> dict[str, str]:
    values: dict[str, str] = {}
    for line in block.splitlines():
        key, sep, value = line.partition(":")
        if sep and key.strip():
            values[key.strip().lower()] = value.strip().strip("\"'")
    return values


def markdown_to_text(markdown: str) -> str:
    """Plain text from Markdown: headings, emphasis, links and images keep only their words; fenced code
    blocks are dropped."""
    text = _drop_code_blocks(markdown)
    text = _MD_IMAGE.sub(r"\1", text)
    text = _MD_LINK.sub(r"\1", text)
    text = _MD_HEADING.sub("", text)
    text = _MD_QUOTE.sub("", text)
    for _ in range(2):  # nested emphasis: **_word_**
        text = _MD_EMPHASIS.sub(lambda match: match.group(match.lastindex or 0), text)
    return text


def _drop_code_blocks(markdown: str) -> str:
    """Each fenced code block (from a line opening with ```, through the next line that is only ```)
    becomes one empty line; an opening fence with no closing one after it stays text."""
    lines = markdown.split("\n")
    closings = [number for number, line in enumerate(lines) if _MD_FENCE_CLOSE.fullmatch(line)]
    kept: list[str] = []
    number = 0
    for closing in closings:  # ascending, so each line is looked at once
        while number < closing and not lines[number].startswith("```"):
            kept.append(lines[number])
            number += 1
        if number < closing:  # lines[number] opens a block that ends at this closing fence
            kept.append("")
            number = closing + 1
    kept.extend(lines[number:])
    return "\n".join(kept)


def _read_md(text: str, path: str, mtime: datetime) -> FileContents:
    text = normalise_text(text)
    meta: dict[str, str] = {}
    match = _FRONT_MATTER.match(text + "\n")
    if match:
        meta = _front_matter(match.group(1))
        text = text[match.end() :]
    title = meta.get("title")
    if not title:
        heading = re.match(r"\s*#\s+(.+)\n", text + "\n")
        if heading:
            title, text = heading.group(1), text[heading.end() :]
    return FileContents(
        [
            _record(
                origin=path,
                file=path,
                body=markdown_to_text(text),
                title=markdown_to_text(title) if title else None,
                published=parse_published(meta.get("published") or meta.get("date")),
                file_time=mtime,
                source=meta.get("source"),
                url=meta.get("url"),
            )
        ]
    )


def _from_object(obj: Any, origin: str, path: str, mtime: datetime) -> ArticleRecord:
    if not isinstance(obj, dict):
        raise SkipFile("not a JSON object")
    body = obj.get("text") or obj.get("body") or obj.get("content")
    if not isinstance(body, str) or not body.strip():
        raise SkipFile("no text or body field")
    title = obj.get("title") or obj.get("headline")
    return _record(
        origin=origin,
        file=path,
        body=body,
        title=title if isinstance(title, str) else None,
        published=parse_published(obj.get("published") or obj.get("date")),
        file_time=mtime,
        source=obj.get("source") if isinstance(obj.get("source"), str) else None,
        url=obj.get("url") if isinstance(obj.get("url"), str) else None,
    )


def _read_json(text: str, path: str, mtime: datetime) -> FileContents:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise SkipFile(f"malformed JSON (line {exc.lineno}: {exc.msg})") from None
    except RecursionError:
        raise SkipFile("malformed JSON (nested too deeply)") from None
    objects = data if isinstance(data, list) else [data]
    contents = FileContents()
    for number, obj in enumerate(objects, start=1):
        origin = path if len(objects) == 1 and not isinstance(data, list) else f"{path}#{number}"
        try:
            contents.records.append(_from_object(obj, origin, path, mtime))
        except SkipFile as exc:
            contents.notes.append(f"item {number}: {exc}")
    if not contents.records:
        raise SkipFile("no usable articles" + (f" ({contents.notes[0]})" if contents.notes else ""))
    return contents


def _read_jsonl(text: str, path: str, mtime: datetime) -> FileContents:
    contents = FileContents()
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            contents.notes.append(f"line {number}: malformed JSON ({exc.msg})")
            continue
        except RecursionError:
            contents.notes.append(f"line {number}: malformed JSON (nested too deeply)")
            continue
        try:
            contents.records.append(_from_object(obj, f"{path}#{number}", path, mtime))
        except SkipFile as exc:
            contents.notes.append(f"line {number}: {exc}")
    if not contents.records:
        raise SkipFile("no usable articles" + (f" ({contents.notes[0]})" if contents.notes else ""))
    return contents


def _extract(html: str, url: str | None, *, with_metadata: bool) -> Any:
    import trafilatura  # imported here: it is slow to import and only HTML needs it

    document = trafilatura.bare_extraction(
        html, url=url, include_comments=False, include_tables=False, with_metadata=with_metadata
    )
    if document is None or not getattr(document, "text", None):
        raise SkipFile("no article text found in the HTML")
    return document


def html_to_record(
    html: str, *, origin: str, file: str | None, url: str | None, fallback_time: datetime
) -> ArticleRecord:
    """The main text of an HTML page (boilerplate removed) with its title, date and site name."""
    document = _extract(html, url, with_metadata=True)
    return _record(
        origin=origin,
        file=file or origin,
        body=document.text.replace("\n", "\n\n"),
        title=document.title,
        published=parse_published(document.date),
        file_time=fallback_time,
        source=document.sitename,
        url=url or document.url,
    )


def html_main_text(html: str, url: str) -> str:
    """The main text of a web page (boilerplate removed), normalised; :class:`SkipFile` when it has none.

    Metadata is not looked for: a feed item has its own title and date, and the date search alone scans
    the whole page again and again (over a second on a 5 MB page).
    """
    body = normalise_text(_extract(html, url, with_metadata=False).text.replace("\n", "\n\n"))
    if not body:
        raise SkipFile("no article text")
    return body


def _read_html(text: str, path: str, mtime: datetime) -> FileContents:
    return FileContents([html_to_record(text, origin=path, file=path, url=None, fallback_time=mtime)])


_READERS = {
    ".txt": _read_txt,
    ".md": _read_md,
    ".markdown": _read_md,
    ".json": _read_json,
    ".jsonl": _read_jsonl,
    ".html": _read_html,
    ".htm": _read_html,
}


def read_file(path: Path, max_bytes: int) -> FileContents:
    """Read one article file. Raises :class:`SkipFile` with the reason when it cannot be used."""
    suffix = path.suffix.lower()
    reader = _READERS.get(suffix)
    if reader is None:
        raise SkipFile(f"unsupported file type {suffix or '(none)'}")
    try:
        stat = path.stat()
    except OSError as exc:
        raise SkipFile(f"cannot read ({exc.strerror or exc})") from None
    if stat.st_size > max_bytes:
        raise SkipFile(f"too large ({stat.st_size:,} bytes; the limit is {max_bytes:,})")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise SkipFile(f"cannot read ({exc.strerror or exc})") from None
    if not data.strip():
        raise SkipFile("empty file")
    text = decode_bytes(data)
    if not text.strip():
        raise SkipFile("empty file")
    mtime = datetime.fromtimestamp(stat.st_mtime, UTC)
    return reader(text, str(path), mtime)
