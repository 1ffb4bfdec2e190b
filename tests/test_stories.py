"""Stories across outlets: the online clustering on real-ish articles analysed by the real pipeline,
its explanations and stored state, and the benchmark's production path on real ECB+ articles."""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime, timedelta

import pytest

from bot.models import ArticleText
from bot.nlp.analyzer import Analyzer
from bot.store import Store
from bot.stories import (
    NAMES_PER_STORY,
    NUMBERS_PER_STORY,
    SOURCES_PER_STORY,
    SPECIFICS_PER_STORY,
    TERMS_PER_STORY,
    DocumentFrequencies,
    Match,
    StoryArticle,
    StoryDecision,
    StoryPolicy,
    StoryState,
    StoryStream,
    Weighted,
    article_features,
    compare,
    decide,
    same_event,
    stated_date,
    story_summary,
)
from tests.conftest import TEST_ARTICLES, seed_body

MONDAY = datetime(2024, 3, 4, 9, 0, tzinfo=UTC)

# One event (the Indian Navy stops a pirate attack) as two outlets write it, an unrelated story the same
# day, and an event of the same kind with other people and another ship.
NAVY_WIRE = (
    "Indian Navy foils pirate attack in Gulf of Aden, captures 23",
    "The Indian Navy on Saturday prevented pirates from hijacking the Ethiopian merchant vessel MV Gibe in "
    "the Gulf of Aden and took 23 pirates into custody. The warship INS Mysore answered a distress call from "
    "the Gibe and sent marine commandos in a helicopter. Navy spokesman Nirad Sinha said the 23 Somali and "
    "Yemeni pirates were disarmed and held aboard INS Mysore.",
)
NAVY_PAPER = (
    "INS Mysore captures 23 pirates after attack on MV Gibe",
    "Marine commandos from the Indian warship INS Mysore captured 23 Somali and Yemeni pirates who tried to "
    "board the Ethiopian ship MV Gibe in the Gulf of Aden on Saturday, the Indian Navy said. Commander Nirad "
    "Sinha said the pirates' two boats were intercepted after the Gibe's crew raised the alarm, and rifles "
    "and grenades were seized.",
)
NAVY_THIRD = (
    "Navy commandos stop MV Gibe hijack, 23 pirates held",
    "Indian Navy marine commandos flown from INS Mysore stopped 23 Somali and Yemeni pirates from hijacking "
    "the Ethiopian vessel MV Gibe in the Gulf of Aden on Saturday. Navy spokesman Nirad Sinha said the pirates "
    "were disarmed and their rifles and grenades seized.",
)
BANK_RESULTS = (
    "Lloyds profits rise as mortgage lending recovers",
    "Lloyds Banking Group reported a 12% rise in annual profit on Saturday as mortgage lending in Britain "
    "recovered. Chief executive Charlie Nunn said the bank would return more cash to shareholders through a "
    "share buyback. Analysts at Barclays said the results beat expectations.",
)
NAVY_OTHER = (
    "INS Sukanya foils piracy attempt, 26 pirates held",
    "The Indian Navy patrol vessel INS Sukanya thwarted an attempt by pirates to board the Liberian tanker "
    "MV Elinda near Salalah on Friday and arrested 26 pirates. Captain Anil Jain said the Sukanya's "
    "helicopter spotted two skiffs closing on the tanker, and AK-47 rifles were recovered from the pirates.",
)
# Two celebrities, two clinics: the same kind of news about different people.
REID_REHAB = (
    "Tara Reid checks into Promises rehab",
    "Actress Tara Reid, who starred in American Pie, has entered the Promises Treatment Center in Malibu, "
    "her publicist Jack Ketsoyan said on Tuesday. Ketsoyan asked that Tara Reid's privacy be respected while "
    "she receives treatment at Promises.",
)
LOHAN_REHAB = (
    "Lindsay Lohan checks into Betty Ford rehab",
    "Actress Lindsay Lohan has entered the Betty Ford Center in Rancho Mirage to begin a 90-day rehab stay "
    "ordered by a Los Angeles judge, her lawyer Shawn Holley said on Tuesday. Holley said Lindsay Lohan "
    "would complete the court-ordered treatment at the Betty Ford Center.",
)


def indexed(
    analyzer: Analyzer,
    article_id: int,
    text: tuple[str, str],
    *,
    published: datetime | None = MONDAY,
    source: str | None = None,
) -> StoryArticle:
    """An article as the index holds it: analysed by the real pipeline, names with salience, topics."""
    title, body = text
    analysis = analyzer.analyze([ArticleText(title, body)])[0]
    return StoryArticle(
        article_id=article_id,
        title=title,
        body=body,
        names=[Weighted(e.key, e.name, e.salience) for e in analysis.entities],
        topics=[Weighted(t.key, t.text, t.score) for t in analysis.topics],
        published=published,
        source=source,
    )


@pytest.fixture(scope="module")
def background(analyzer: Analyzer) -> list[StoryArticle]:
    """Unrelated articles already in the index, so that document frequencies mean something."""
    articles = [("Tesla chief meets Argentine president", seed_body())]
    data = json.loads((TEST_ARTICLES / "argentina-imf.json").read_text(encoding="utf-8"))
    articles.append((data["title"], data["text"]))
    headline, _, body = (TEST_ARTICLES / "hewitt-call-centres.txt").read_text(encoding="utf-8").partition("\n")
    articles.append((headline.strip(), body.strip()))
    return [indexed(analyzer, 100 + i, text, published=MONDAY - timedelta(days=1)) for i, text in enumerate(articles)]


def stream_with(background: list[StoryArticle]) -> StoryStream:
    stream = StoryStream()
    for article in background:
        stream.add(article)
    return stream


def test_same_event_from_two_outlets_joins_one_story(analyzer: Analyzer, background: list[StoryArticle]) -> None:
    stream = stream_with(background)
    first = stream.add(indexed(analyzer, 1, NAVY_WIRE, source="wire.example"))
    second = stream.add(indexed(analyzer, 2, NAVY_PAPER, published=MONDAY + timedelta(hours=3), source="paper.example"))
    assert not first.joined
    assert second.joined and second.story_id == first.story_id
    story = stream.stories[first.story_id]
    assert story.size == 2
    assert story.sources == ["wire.example", "paper.example"]


def test_unrelated_article_the_same_day_starts_its_own_story(
    analyzer: Analyzer, background: list[StoryArticle]
) -> None:
    stream = stream_with(background)
    navy = stream.add(indexed(analyzer, 1, NAVY_WIRE))
    bank = stream.add(indexed(analyzer, 2, BANK_RESULTS, published=MONDAY + timedelta(hours=1)))
    assert not bank.joined
    assert bank.story_id != navy.story_id


@pytest.mark.parametrize(
    ("first", "second"),
    [(NAVY_WIRE, NAVY_OTHER), (REID_REHAB, LOHAN_REHAB)],
    ids=["two ships, two attacks", "two actresses, two clinics"],
)
def test_same_kind_of_event_with_other_people_splits(
    analyzer: Analyzer, background: list[StoryArticle], first: tuple[str, str], second: tuple[str, str]
) -> None:
    stream = stream_with(background)
    one = stream.add(indexed(analyzer, 1, first))
    other = stream.add(indexed(analyzer, 2, second, published=MONDAY + timedelta(hours=2)))
    assert not other.joined, other.explain()
    assert other.story_id != one.story_id
    # It was a candidate (they share words), so the explanation names the story it did not join.
    assert other.nearest is not None and other.nearest.story_id == one.story_id
    assert f"the closest, story #{one.story_id}, scored" in other.explain()


def test_specifics_tell_two_events_of_one_kind_apart_better_than_the_whole_text(
    analyzer: Analyzer, background: list[StoryArticle]
) -> None:
    """The capitalised words and figures (ships, people, places, counts) are what two reports of one
    event share and two events of one kind do not; the rest is the kind's common vocabulary."""
    stream = stream_with(background)
    wire = indexed(analyzer, 1, NAVY_WIRE)
    features = article_features(wire)
    assert {"ins", "mysore", "gibe", "23", "indian", "navy"} <= features.specifics.keys()
    assert not {"pirate", "attack", "warship", "custody"} & features.specifics.keys()
    assert features.specifics.keys() <= features.terms.keys()
    story = stream.stories[stream.add(wire).story_id]
    same = compare(article_features(indexed(analyzer, 2, NAVY_PAPER)), story, stream.frequencies, stream.policy)
    other = compare(article_features(indexed(analyzer, 3, NAVY_OTHER)), story, stream.frequencies, stream.policy)
    assert same.specifics > 2 * other.specifics
    assert same.specifics - other.specifics > same.text - other.text


def test_an_article_bridging_two_stories_of_one_event_merges_them(
    analyzer: Analyzer, background: list[StoryArticle]
) -> None:
    stream = stream_with(background)
    stream.policy = dataclasses.replace(StoryPolicy(), threshold=10.0)  # every report starts a story of its own
    wire, paper, other = (
        stream.add(indexed(analyzer, n, text)).story_id
        for n, text in enumerate((NAVY_WIRE, NAVY_PAPER, NAVY_OTHER), start=1)
    )
    assert len({wire, paper, other}) == 3
    stories, frequencies = stream.stories, stream.frequencies
    assert same_event(stories[wire], stories[paper], frequencies, StoryPolicy())
    assert not same_event(stories[wire], stories[other], frequencies, StoryPolicy())

    stream.policy = StoryPolicy()
    bridge = stream.add(indexed(analyzer, 4, NAVY_THIRD))
    assert bridge.joined and bridge.story_id in (wire, paper), bridge.explain()
    assert bridge.merged == tuple({wire, paper} - {bridge.story_id})
    assert stream.story_of(wire) == stream.story_of(paper) == bridge.story_id
    assert stream.story_of(other) == other and set(stream.stories) >= {bridge.story_id, other}
    merged = stream.stories[bridge.story_id]
    assert merged.size == 3 and "gibe" in merged.specifics and bridge.merged[0] not in stream.stories
    assert bridge.explain().endswith(f"; story #{bridge.merged[0]} merged into it (the same event)")
    assert StoryDecision.from_json(bridge.to_json()) == bridge


def test_explanation_names_what_is_shared_and_the_similarity(
    analyzer: Analyzer, background: list[StoryArticle]
) -> None:
    stream = stream_with(background)
    first = stream.add(indexed(analyzer, 1, NAVY_WIRE))
    second = stream.add(indexed(analyzer, 2, NAVY_PAPER))
    assert second.nearest is not None
    explanation = second.explain()
    assert explanation.startswith(f"joined story #{first.story_id}: shares ")
    assert "INS Mysore" in second.nearest.shared_names
    assert "INS Mysore" in explanation
    # Both came out the same day, each with a date of its own: the explanation says so.
    assert second.nearest.together
    assert explanation.endswith(f"; similarity {second.nearest.text:.2f}; published together")
    assert 0.2 < second.nearest.text <= 1.0
    # The stored decision explains itself the same way after a round trip.
    assert StoryDecision.from_json(second.to_json()) == second
    assert StoryDecision.from_json(second.to_json()).explain() == explanation


def test_an_article_outside_the_horizon_starts_a_new_story_and_undated_ones_still_join(
    analyzer: Analyzer, background: list[StoryArticle]
) -> None:
    stream = stream_with(background)
    first = stream.add(indexed(analyzer, 1, NAVY_WIRE))
    much_later = stream.add(indexed(analyzer, 2, NAVY_PAPER, published=MONDAY + stream.policy.horizon * 2))
    assert not much_later.joined
    undated = stream.add(indexed(analyzer, 3, NAVY_PAPER, published=None))
    assert undated.joined
    assert undated.story_id in {first.story_id, much_later.story_id}


@pytest.mark.parametrize(
    ("title", "body", "near", "expected"),
    [
        (
            "Obama restores species rules",
            "WEDNESDAY, MARCH 4, 2009, 10:53 AM President Barack Obama said",
            None,
            (2009, 3, 4),
        ),
        ("Climber dead after fall", "Last updated 13:26 14 / 09 / 2013 A 36 - year - old climber", None, (2013, 9, 14)),
        ("Last Updated: Monday, 28 November 2005, 02:24 GMT", "Ten dead in southern Iran quake", None, (2005, 11, 28)),
        # Day and month either way round: the reading nearer the stored date wins.
        (
            "Oscar host named",
            "8:13 AM PDT 8 / 2 / 2013 Hugh Jackman will host",
            datetime(2013, 8, 3, tzinfo=UTC),
            (2013, 8, 2),
        ),
        (
            "Oscar host named",
            "8:13 AM PDT 8 / 2 / 2013 Hugh Jackman will host",
            datetime(2013, 2, 9, tzinfo=UTC),
            (2013, 2, 8),
        ),
        ("Pin-up model dies", "Bettie Page, the pin-up model of the 1950s, born on April 22, 1923", None, None),
        ("Pirates held", "The Indian Navy on Saturday took 23 pirates into custody.", None, None),
        ("Bad date", "February 30, 2013 - nothing happened", None, None),
        ("11 / 28 / 05", "Aftershocks jolt Iran's Qeshm island", datetime(2026, 12, 5, tzinfo=UTC), (2005, 11, 28)),
        ("Quake felt in Dubai", "Sunday, November 27 - 2005 at 16:12 Tremors from an earthquake", None, (2005, 11, 27)),
        ("Dairy burns", "Published: 2012. 08. 08 09:01 AM A fire on Tuesday destroyed", None, (2012, 8, 8)),
        ("Results", "Scores 6.10.12 and 3 / 4 in the final round", None, None),
    ],
    ids=[
        "weekday dateline",
        "numeric, day first",
        "in the headline",
        "US order",
        "UK order",
        "too far in",
        "none",
        "no such day",
        "two-digit year",
        "dash before the year",
        "year first with dots",
        "not a date",
    ],
)
def test_stated_date_reads_the_dateline_only(
    title: str, body: str, near: datetime | None, expected: tuple[int, int, int] | None
) -> None:
    stated = stated_date(title, body, near)
    assert (stated.year, stated.month, stated.day) == expected if expected else stated is None


def test_an_old_report_filed_today_is_placed_by_its_dateline(
    analyzer: Analyzer, background: list[StoryArticle]
) -> None:
    """A file without a date is stored with the file's time; its dateline says when it really appeared, so an
    old report of an event like today's does not join today's story, and today's own report still does."""
    stream = stream_with(background)
    today = stream.add(indexed(analyzer, 1, NAVY_WIRE))
    old_title, old_body = NAVY_PAPER
    old = indexed(analyzer, 2, (old_title, "Saturday, November 15, 2008 - " + old_body), published=MONDAY)
    assert article_features(old).published == datetime(2008, 11, 15, 12, tzinfo=UTC)
    placed = stream.add(old)
    assert not placed.joined and placed.story_id != today.story_id
    current = indexed(analyzer, 3, (old_title, "Saturday, March 2, 2024 - " + old_body), published=MONDAY)
    assert article_features(current).published == MONDAY  # a dateline two days back is the stored date's
    assert stream.add(current).story_id == today.story_id


def test_reports_dated_within_days_of_each_other_score_more_but_a_file_time_says_nothing(
    analyzer: Analyzer, background: list[StoryArticle]
) -> None:
    stream = stream_with(background)
    policy = stream.policy
    story = stream.stories[stream.add(indexed(analyzer, 1, NAVY_WIRE)).story_id]
    paper = indexed(analyzer, 2, NAVY_PAPER, published=MONDAY + timedelta(days=1))

    def match(article: StoryArticle, against: StoryState = story) -> Match:
        return compare(article_features(article), against, stream.frequencies, policy)

    dated, filed = match(paper), match(dataclasses.replace(paper, date_known=False))
    later = match(dataclasses.replace(paper, published=MONDAY + policy.together + timedelta(days=2)))
    assert dated.together and not filed.together and not later.together
    assert dated.score == pytest.approx(filed.score + policy.published_together)
    assert later.score == pytest.approx(filed.score)
    # A story whose members carry only their files' times has no date to be published together with.
    filed_third = article_features(dataclasses.replace(indexed(analyzer, 3, NAVY_THIRD), date_known=False))
    undated_story = StoryState.start(9, filed_third, stream.frequencies)
    assert undated_story.first_published == MONDAY and undated_story.first_dated is None
    assert not match(paper, undated_story).together
    # A dateline makes a file's article dated again.
    stated = dataclasses.replace(paper, body="Tuesday, March 5, 2024 - " + paper.body, date_known=False)
    assert article_features(stated).dated and match(stated).together


def test_an_article_without_a_date_that_reads_as_much_like_an_older_story_is_kept_apart(
    analyzer: Analyzer, background: list[StoryArticle]
) -> None:
    """An undated report of last year's attack, filed today, reads like today's attack of the same kind:
    that it reads as much like last year's story is what tells that its date cannot be trusted."""
    stream = stream_with(background)
    last_year = stream.add(indexed(analyzer, 1, NAVY_WIRE, published=MONDAY - timedelta(days=400)))
    today = stream.add(indexed(analyzer, 2, NAVY_THIRD))
    assert not today.joined  # beyond the horizon of last year's story
    filed = dataclasses.replace(indexed(analyzer, 3, NAVY_PAPER), date_known=False)
    kept = stream.add(filed)
    assert not kept.joined and kept.story_id not in (last_year.story_id, today.story_id)
    assert kept.nearest is not None and kept.nearest.story_id == today.story_id
    assert kept.echo is not None and kept.echo.story_id == last_year.story_id
    assert kept.echo.score >= kept.nearest.score >= StoryPolicy().threshold
    assert kept.explain() == (
        f"started story #{kept.story_id}: story #{today.story_id} scored {kept.nearest.score:.2f}, but story "
        f"#{last_year.story_id}, from another time, reads as much like it ({kept.echo.score:.2f}) and it has no "
        "date of its own to tell them apart"
    )
    assert StoryDecision.from_json(kept.to_json()).explain() == kept.explain()
    # The same article with a date of its own is today's news, and joins today's story.
    again = stream_with(background)
    again.add(indexed(analyzer, 1, NAVY_WIRE, published=MONDAY - timedelta(days=400)))
    today_again = again.add(indexed(analyzer, 2, NAVY_THIRD))
    dated = again.add(dataclasses.replace(filed, date_known=True))
    assert dated.joined and dated.story_id == today_again.story_id and dated.echo is None


def test_story_state_and_frequencies_round_trip_through_json(
    analyzer: Analyzer, background: list[StoryArticle]
) -> None:
    stream = stream_with(background)
    story_id = stream.add(indexed(analyzer, 1, NAVY_WIRE, source="wire.example")).story_id
    stream.add(indexed(analyzer, 2, NAVY_PAPER, source="paper.example"))
    story = stream.stories[story_id]
    again = StoryState.from_json(story.to_json())
    assert again.to_json() == story.to_json()
    assert (again.size, again.first_published, again.sources) == (2, MONDAY, ["wire.example", "paper.example"])
    frequencies = DocumentFrequencies.from_json(stream.frequencies.to_json())
    assert frequencies == stream.frequencies
    # A decision against the restored state is the decision against the live one.
    features = article_features(indexed(analyzer, 3, NAVY_PAPER))
    policy = StoryPolicy()
    live = decide(features, [story], stream.frequencies, policy, new_story_id=99)
    restored = decide(features, [again], frequencies, policy, new_story_id=99)
    assert live.joined and restored.joined
    assert restored.nearest is not None and live.nearest is not None
    assert restored.nearest.score == pytest.approx(live.nearest.score, abs=1e-3)


def test_a_story_and_a_decision_stored_before_specifics_still_load(
    analyzer: Analyzer, background: list[StoryArticle]
) -> None:
    stream = stream_with(background)
    first = stream.add(indexed(analyzer, 1, NAVY_WIRE))
    decision = stream.add(indexed(analyzer, 2, NAVY_PAPER))
    state = json.loads(stream.stories[first.story_id].to_json())
    del state["specifics"]
    old = StoryState.from_json(json.dumps(state))
    assert old.specifics == {} and old.size == 2
    stored = json.loads(decision.to_json())
    del stored["nearest"]["specifics"]
    nearest = StoryDecision.from_json(json.dumps(stored)).nearest
    assert nearest is not None and nearest.specifics == 0.0
    # The old state is still compared on the rest, and grows its specifics from its next member.
    features = article_features(indexed(analyzer, 3, NAVY_PAPER))
    match = compare(features, old, stream.frequencies, stream.policy)
    assert match.specifics == 0.0 and match.text > 0.2
    old.add(features, stream.frequencies)
    assert "mysore" in old.specifics


def letters(number: int) -> str:
    """A distinct word for each number: 0 → "ba", 27 → "bbb"."""
    word = ""
    while True:
        number, digit = divmod(number, 26)
        word = chr(ord("a") + digit) + word
        if not number:
            return "b" + word


def test_story_state_stays_bounded_however_many_articles_join() -> None:
    frequencies = DocumentFrequencies()
    story: StoryState | None = None
    sizes = []
    for n in range(400):
        # Every article brings new words, names, numbers and an outlet: only the caps hold the size.
        article = StoryArticle(
            article_id=n,
            title=f"Flood update {n}",
            body=" ".join(f"{letters(n * 100 + k)} {n * 100 + k}" for k in range(40)),
            names=[Weighted(f"person {n}", f"Person {n}", 0.9), Weighted("river", "River Severn", 1.0)],
            topics=[Weighted(f"topic {n}", f"topic {n}", 0.1)],
            published=MONDAY + timedelta(minutes=n),
            source=f"outlet{n}.example",
        )
        features = article_features(article)
        frequencies.add(features.keys())
        if story is None:
            story = StoryState.start(1, features, frequencies)
        else:
            story.add(features, frequencies)
        sizes.append(len(story.to_json()))
    assert story is not None and story.size == 400
    assert len(story.terms) == TERMS_PER_STORY
    assert len(story.specifics) == SPECIFICS_PER_STORY
    assert len(story.names) == NAMES_PER_STORY
    assert len(story.numbers) == NUMBERS_PER_STORY
    assert len(story.sources) == SOURCES_PER_STORY
    assert story.names["river"] == ["River Severn", 400.0]  # the name every member shares is kept
    assert story.last_published == MONDAY + timedelta(minutes=399)
    # Once the caps are reached the stored state no longer grows.
    assert max(sizes[200:]) < 1.1 * sizes[200]


def test_document_frequencies_are_incremental_and_bounded() -> None:
    frequencies = DocumentFrequencies(max_keys=10)
    frequencies.add(["w:pirate", "w:navy"])
    frequencies.add(["w:pirate", "w:bank"])
    assert frequencies.documents == 2
    assert frequencies.idf("w:pirate") < frequencies.idf("w:navy") < frequencies.idf("w:never-seen")
    frequencies.remove(["w:pirate", "w:bank"])
    assert frequencies.counts == {"w:pirate": 1, "w:navy": 1}
    for n in range(20):
        frequencies.add([f"w:once{n}", "w:pirate"])
    assert len(frequencies.counts) <= 10
    assert frequencies.counts["w:pirate"] == 21


def test_stream_keeps_at_most_max_active_stories(analyzer: Analyzer, background: list[StoryArticle]) -> None:
    stream = StoryStream(max_active=2)
    for article in background:
        stream.add(article)
    assert len(stream.stories) == 2
    decision = stream.add(indexed(analyzer, 1, BANK_RESULTS))
    assert list(stream.stories)[-1] == decision.story_id


# --------------------------------------------------------------------------- the benchmark's path


async def test_bench_path_places_real_ecb_articles(store: Store, indexer_for) -> None:
    stories = pytest.importorskip("bench.stories")
    if not (stories.STORIES / "clusters.json").is_file():
        pytest.skip(f"evaluation data not found at {stories.STORIES}")
    wanted = ["12_1ecb", "12_2ecb", "1_1ecb", "12_3ecb"]
    docs = sorted((d for d in stories.labelled_docs() if d.doc_id in wanted), key=lambda d: wanted.index(d.doc_id))
    await stories.index_labelled(docs, indexer_for(store))
    articles = await stories.read_story_articles(store, docs)
    assert [a.published for a in articles] == [None] * 4  # ECB articles have no known date
    # The indexer placed each article as it wrote it: the stories the benchmark reads back.
    as_indexed = await stories.indexed_stories(store, articles)
    assert as_indexed[0] == as_indexed[1] == as_indexed[3] != as_indexed[2]
    halves = stories.score_halves(docs, as_indexed)  # topic 1 tunes, topic 12 is held out
    assert halves["tuning"]["grouped_stories"] == 0 and halves["held_out"]["wrong_merge_rate"] == 0.0
    assert halves["held_out"]["pairwise"]["recall"] == 1.0
    assert all(a.names and a.topics and a.body for a in articles)
    labels = stories.cluster_ours(articles, range(len(articles)), StoryPolicy())
    # The three reports of the Indian Navy's capture of 23 pirates form one story; Tara Reid's rehab another.
    assert labels[0] == labels[1] == labels[3]
    assert labels[2] != labels[0]
    result = stories.score(labels, [d.event for d in docs])
    assert result["pairwise"] == {"precision": 1.0, "recall": 1.0, "f1": 1.0}
    assert result["wrong_merge_rate"] == 0.0
    # The product's own path, through the store, in two orders, groups them the same way.
    ids = [a.article_id for a in articles]
    for placed in await stories.place_in_store(store, ids, [range(4), [3, 2, 1, 0]], StoryPolicy()):
        assert placed[0] == placed[1] == placed[3] != placed[2]
    assert await store.stories.story_of(ids[0]) == await store.stories.story_of(ids[1])


# ------------------------------------------------------------------------------------- story summary


def test_story_summary_tells_each_thing_once_in_time_order() -> None:
    wire = [
        "The Indian Navy on Saturday stopped pirates from hijacking the merchant ship MV Gibe in the Gulf of Aden.",
        "The warship INS Mysore answered a distress call and sent marine commandos in a helicopter.",
        "Navy spokesman Nirad Sinha said 23 pirates were held.",
    ]
    paper = [
        # Another outlet's rewrite of the wire's first sentence: nothing new, but it corroborates it.
        "On Saturday the Indian Navy stopped pirates hijacking the merchant ship MV Gibe in the Gulf of Aden.",
        "Rifles and grenades were seized from the pirates' two boats.",
    ]
    later = ["The 23 pirates will be handed to the police in Mumbai on Tuesday.", "The ship sailed on to Oman."]
    members = [
        (1, "Navy foils attack", "2024-03-02T09:00:00Z", wire),
        (2, "Pirates captured", "2024-03-02T12:00:00Z", paper),
        (3, "Pirates to face trial", "2024-03-03T08:00:00Z", later),
    ]
    summary = story_summary(members)
    assert [(c.article_id, c.text) for c in summary] == [
        (1, wire[0]),
        (1, wire[1]),
        (2, paper[1]),
        (3, later[0]),
        (3, later[1]),
    ]
    assert summary[0].repeated_in == [2]  # the paper said it too
    # Beyond the limit the weightiest stay: what two outlets said, and another article's lead.
    assert [c.text for c in story_summary(members, limit=2)] == [wire[0], later[0]]
