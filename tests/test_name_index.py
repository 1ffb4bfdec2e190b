"""The in-memory name index: prefixes by any word, typos, popularity order, and a light footprint."""

from __future__ import annotations

import gc

from bot.name_index import FUZZY_POOL, NameIndex

ROWS = [
    (1, "javier milei", "Javier Milei", 40),
    (2, "karina milei", "Karina Milei", 5),
    (3, "elon musk", "Elon Musk", 30),
    (4, "united states", "United States", 90),
    (5, "milan", "Milan", 10),
]


def test_prefix_matches_any_word_most_mentioned_first() -> None:
    index = NameIndex(ROWS)
    assert [e.name for e in index.prefix("mil")] == ["Javier Milei", "Milan", "Karina Milei"]
    assert [e.name for e in index.prefix("mu")] == ["Elon Musk"]
    assert [e.name for e in index.prefix("united s")] == ["United States"]
    assert [e.name for e in index.prefix("")][:1] == ["United States"]
    assert index.prefix("zz") == [] and index.prefix("zzz") == []


def test_fuzzy_finds_typos() -> None:
    index = NameIndex(ROWS)
    best, score = index.fuzzy("mllei")[0]
    assert best.name == "Javier Milei" and score >= 75
    assert index.fuzzy("qqqqq") == []


def test_fuzzy_looks_only_at_the_most_mentioned_names() -> None:
    rows = [(i, f"name{i} common", f"Name{i} Common", FUZZY_POOL * 2 - i) for i in range(FUZZY_POOL + 10)]
    rows.append((99_999, "zebulon", "Zebulon", 0))  # the least mentioned: outside the pool
    index = NameIndex(rows)
    assert index.fuzzy("zebulom") == []
    assert [e.name for e in index.prefix("zebu")] == ["Zebulon"]  # prefixes still see every name


def test_a_large_index_adds_almost_nothing_for_the_garbage_collector() -> None:
    rows = [(i, f"person{i} surname{i % 97}", f"Person{i} Surname{i % 97}", i % 50) for i in range(50_000)]
    gc.collect()
    before = len(gc.get_objects())
    index = NameIndex(rows)
    gc.collect()
    assert len(gc.get_objects()) - before < 100
    assert len(index) == 50_000
