"""Reading article files: every format, and every kind of bad input skipped with its reason."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.ingest.readers import (
    SkipFile,
    content_hash,
    decode_bytes,
    derive_title,
    markdown_to_text,
    parse_published,
    read_file,
)

CAP = 2_000_000


def _write(tmp_path: Path, name: str, data: str | bytes) -> Path:
    path = tmp_path / name
    if isinstance(data, bytes):
        path.write_bytes(data)
    else:
        path.write_text(data, encoding="utf-8")
    return path


def test_txt_headline_when_a_blank_line_follows(tmp_path: Path) -> None:
    [record] = read_file(_write(tmp_path, "a.txt", "Big news\n\nThe body.\nMore body."), CAP).records
    assert record.title == "Big news" and not record.title_derived
    assert record.body == "The body.\nMore body."
    assert record.origin == str(tmp_path / "a.txt")


def test_txt_without_headline_derives_one(tmp_path: Path) -> None:
    text = "Argentina's president met the IMF on Tuesday. Talks went on. " + "More words here. " * 20
    [record] = read_file(_write(tmp_path, "b.txt", text), CAP).records
    assert record.title == "Argentina's president met the IMF on Tuesday."
    assert record.title_derived


def test_bidi_controls_and_zero_width_characters_are_stripped(tmp_path: Path) -> None:
    text = "\u202egnp.exe\n\nMi\u200blei met the \u2066IMF\u2069 on Tuesday.\u200e"
    [txt] = read_file(_write(tmp_path, "bidi.txt", text), CAP).records
    assert txt.title == "gnp.exe" and txt.body == "Milei met the IMF on Tuesday."
    record = {"title": "\u202dOdd\u202c \u2060title\ufeff", "body": "\u200dBody."}
    [js] = read_file(_write(tmp_path, "bidi.json", json.dumps(record)), CAP).records
    assert (js.title, js.body) == ("Odd title", "Body.")


def test_derived_title_is_shortened_at_a_word() -> None:
    title = derive_title("word " * 60)
    assert len(title) <= 100 and title.endswith("…") and not title.endswith(" …")


def test_markdown_front_matter_and_formatting(tmp_path: Path) -> None:
    text = (
        '---\ntitle: "A title"\nsource: AP\nurl: https://example.com/x\npublished: 2024-04-12T18:00:00+02:00\n---\n\n'
        "Some **bold** and [a link](https://example.com) here.\n\n## A heading\n\nMore text."
    )
    [record] = read_file(_write(tmp_path, "c.md", text), CAP).records
    assert (record.title, record.source, record.url) == ("A title", "AP", "https://example.com/x")
    assert record.published == datetime(2024, 4, 12, 16, 0, tzinfo=UTC)
    assert record.body == "Some bold and a link here.\n\nA heading\n\nMore text."


def test_markdown_heading_as_title(tmp_path: Path) -> None:
    [record] = read_file(_write(tmp_path, "d.md", "# The headline\n\nBody text."), CAP).records
    assert record.title == "The headline" and record.body == "Body text."


def test_json_object_and_list(tmp_path: Path) -> None:
    one = _write(tmp_path, "one.json", json.dumps({"title": "T", "body": "Body one.", "published": "2024-01-02"}))
    [record] = read_file(one, CAP).records
    assert record.title == "T" and record.published == datetime(2024, 1, 2, tzinfo=UTC) and record.date_known
    many = _write(tmp_path, "many.json", json.dumps([{"text": "First text."}, {"nope": 1}, {"text": "Third."}]))
    contents = read_file(many, CAP)
    assert [r.origin.rsplit("#", 1)[1] for r in contents.records] == ["1", "3"]
    # Without a date of its own a record takes the file's time, and says that it did.
    assert all(r.published == datetime.fromtimestamp(many.stat().st_mtime, UTC) for r in contents.records)
    assert not any(r.date_known for r in contents.records)
    assert contents.notes == ["item 2: no text or body field"]


def test_jsonl_keeps_good_lines_and_notes_bad_ones(tmp_path: Path) -> None:
    lines = ['{"text": "Line one text.", "title": "One"}', "{not json", "", '{"body": "Line four text."}', "[1, 2]"]
    contents = read_file(_write(tmp_path, "feed.jsonl", "\n".join(lines)), CAP)
    assert [r.title for r in contents.records] == ["One", "Line four text."]
    assert [n.split(":")[0] for n in contents.notes] == ["line 2", "line 5"]


def test_html_main_text_is_extracted(tmp_path: Path) -> None:
    paragraph = "The central bank raised interest rates again on Thursday, citing persistent inflation. " * 3
    html = (
        "<html><head><title>Rates rise again</title></head><body><nav>Home | News | Sport</nav>"
        f"<article><h1>Rates rise again</h1><p>{paragraph}</p><p>{paragraph}</p></article>"
        "<footer>Copyright and cookie policy</footer></body></html>"
    )
    [record] = read_file(_write(tmp_path, "page.html", html), CAP).records
    assert record.title == "Rates rise again"
    assert "central bank raised interest rates" in record.body
    assert "cookie" not in record.body


@pytest.mark.parametrize(
    ("name", "data", "reason"),
    [
        ("empty.txt", "", "empty file"),
        ("blank.txt", "  \n\n \t\n", "empty file"),
        ("binary.txt", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "binary"),
        ("notes.docx", "whatever", "unsupported file type .docx"),
        ("broken.json", '{"title": "x", ', "malformed JSON"),
        ("nothing.jsonl", "{bad\n{worse", "no usable articles"),
    ],
)
def test_bad_files_are_skipped_with_their_reason(tmp_path: Path, name: str, data: str | bytes, reason: str) -> None:
    with pytest.raises(SkipFile, match=reason):
        read_file(_write(tmp_path, name, data), CAP)


def test_files_over_the_size_cap_are_skipped(tmp_path: Path) -> None:
    path = _write(tmp_path, "big.txt", "x" * 5000)
    with pytest.raises(SkipFile, match="too large"):
        read_file(path, 4096)


def test_latin1_text_is_decoded() -> None:
    # "Señor Pérez scored" in Latin-1, as in BBC sport/199.txt: invalid UTF-8, valid cp1252.
    assert decode_bytes("Se\xf1or P\xe9rez scored".encode("latin-1")) == "Señor Pérez scored"
    assert decode_bytes("caf\xe9 \x81".encode("latin-1")) == "café \x81"  # 0x81 is undefined in cp1252


def test_content_hash_ignores_spacing_and_case() -> None:
    assert content_hash("The  body\ntext.") == content_hash("the body text.")
    assert content_hash("The body") != content_hash("The body!")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2024-04-12T18:00:00Z", datetime(2024, 4, 12, 18, tzinfo=UTC)),
        ("Fri, 12 Apr 2024 18:00:00 +0100", datetime(2024, 4, 12, 17, tzinfo=UTC)),
        ("2024-04-12", datetime(2024, 4, 12, tzinfo=UTC)),
        (1712944800, datetime(2024, 4, 12, 18, tzinfo=UTC)),
        ("next tuesday", None),
        (None, None),
    ],
)
def test_parse_published(value: object, expected: datetime | None) -> None:
    assert parse_published(value) == expected


def test_fenced_code_blocks_are_dropped_and_an_unclosed_fence_stays() -> None:
    text = "Before.\n```python\nprint('x')\n```\nAfter.\n```\nnot closed"
    assert markdown_to_text(text) == "Before.\n\nAfter.\n```\nnot closed"
    assert markdown_to_text("```\na\n``` \nb\n```x\nc\n```") == "\nb\n"


def test_markdown_keeps_words_of_nested_emphasis_links_and_images() -> None:
    text = "**_Both_** and *one* and `code` and snake_case_name; ![alt](x.png) [link](https://e.example/a_b)"
    assert markdown_to_text(text) == "Both and one and code and snakecasename; alt link"


@pytest.mark.parametrize(
    "hostile",
    [
        "_a " * 40_000,
        "`a " * 40_000,
        "**a " * 30_000,
        "[a" * 60_000,
        "![a" * 40_000,
        "[a](" * 60_000,
        "```x\n" * 24_000,
    ],
)
def test_markdown_of_hostile_input_takes_linear_time(hostile: str) -> None:
    """Each of these took from 10 s to minutes (the patterns scanned to the end of the line for every
    mark); now every character is looked at a bounded number of times."""
    started = time.perf_counter()
    markdown_to_text(hostile)
    assert time.perf_counter() - started < 1


def test_deeply_nested_json_is_skipped_with_a_reason(tmp_path: Path) -> None:
    with pytest.raises(SkipFile, match="nested too deeply"):
        read_file(_write(tmp_path, "deep.json", "[" * 100_000), CAP)
    lines = "[" * 100_000 + "\n" + json.dumps({"text": "The harbour reopened on Friday."}) + "\n"
    contents = read_file(_write(tmp_path, "deep.jsonl", lines), CAP)
    assert [r.body for r in contents.records] == ["The harbour reopened on Friday."]
    assert contents.notes == ["line 1: malformed JSON (nested too deeply)"]
