"""Who gets what, as the pure planner decides it from what the store gathered (no database here: the
store's side, gathering and writing, is tested in tests/store/test_alerts.py)."""

from __future__ import annotations

from bot.alerts.planning import (
    FeedOrigin,
    FollowMatch,
    PlannedAlert,
    plan_alerts,
    same_story,
    title_key,
    within_stories,
    without_repeats,
)
from bot.models import AlertPolicy

FOLDER = AlertPolicy(0.35)
FEED = FeedOrigin(id=7, guild_id=2, channel_id=250, name="Cork News")
FROM_FEED = AlertPolicy(0.35, source_id=FEED.id)
CHANNELS = {1: 100, 2: 200}  # server → its enabled alert channel
SHARED = {0}  # the article's scopes: every server sees it
GUILD_2 = {2}  # only server 2 sees it (its own feed's article)


def _follow(guild: int, user: int, name: str, channel: int, kind: str = "entity") -> FollowMatch:
    return FollowMatch(guild_id=guild, user_id=user, kind=kind, name=name, channel_id=channel)


def test_a_new_article_from_a_file_goes_to_every_alert_channel() -> None:
    planned = plan_alerts(FOLDER, is_new=True, feed=None, alert_channels=CHANNELS, follows=[], scopes=SHARED)
    folder = {"kind": "folder", "name": "watched folders"}
    assert planned == [PlannedAlert(1, 100, [folder]), PlannedAlert(2, 200, [folder])]


def test_a_feed_article_goes_to_its_server_alert_channel_else_where_the_feed_was_added() -> None:
    source = {"kind": "source", "id": 7, "name": "Cork News"}
    assert plan_alerts(FROM_FEED, is_new=True, feed=FEED, alert_channels=CHANNELS, follows=[], scopes=GUILD_2) == [
        PlannedAlert(2, 200, [source])
    ]
    assert plan_alerts(FROM_FEED, is_new=True, feed=FEED, alert_channels={1: 100}, follows=[], scopes=GUILD_2) == [
        PlannedAlert(2, 250, [source])
    ]
    # The feed was removed while its items were being indexed: nobody is alerted for it.
    assert plan_alerts(FROM_FEED, is_new=True, feed=None, alert_channels=CHANNELS, follows=[], scopes=GUILD_2) == []


def test_follows_ping_in_the_alert_channel_or_where_they_were_made_each_user_once() -> None:
    follows = [
        _follow(1, 11, "Galway", 101),
        _follow(1, 11, "harbour", 101, kind="topic"),  # the same user twice in one channel: one ping
        _follow(3, 33, "Galway", 301),  # a server without an alert channel
    ]
    planned = plan_alerts(FOLDER, is_new=True, feed=None, alert_channels={1: 100}, follows=follows, scopes=SHARED)
    assert [(p.channel_id, p.pings) for p in planned] == [(100, [11]), (301, [33])]
    assert planned[0].reasons == [
        {"kind": "folder", "name": "watched folders"},
        {"kind": "follow", "name": "Galway", "of": "entity"},
        {"kind": "follow", "name": "harbour", "of": "topic"},
    ]


def test_a_known_text_through_a_feed_goes_to_that_feed_server_only_without_pings() -> None:
    follows = [_follow(1, 11, "Galway", 101)]
    planned = plan_alerts(FROM_FEED, is_new=False, feed=FEED, alert_channels=CHANNELS, follows=follows, scopes=GUILD_2)
    assert [(p.channel_id, p.pings) for p in planned] == [(200, [])]
    # Nor does a known text from a file alert anyone again.
    assert plan_alerts(FOLDER, is_new=False, feed=None, alert_channels=CHANNELS, follows=follows, scopes=SHARED) == []


def test_a_story_a_channel_posted_lately_is_not_posted_there_again() -> None:
    planned = plan_alerts(FOLDER, is_new=True, feed=None, alert_channels=CHANNELS, follows=[], scopes=SHARED)
    key = title_key("Storm batters Galway coast - thousands without power")
    recent = {100: [title_key("Storm batters Galway coast, thousands without power")], 200: ["budget passes"]}
    assert [p.channel_id for p in without_repeats(planned, key, recent)] == [200]
    assert without_repeats(planned, "", recent) == planned  # an article without a title is never a repeat


def test_same_story_needs_the_same_numbers() -> None:
    assert same_story(
        title_key("Storm hits Galway, 3,000 without power"), title_key("Storm hits Galway: 3,000 without power")
    )
    assert not same_story(title_key("Man Utd 2-1 Chelsea"), title_key("Man Utd 1-2 Chelsea"))
    assert not same_story(title_key("Budget passes"), title_key("Flood warning for Cork"))


def test_a_server_own_feed_article_pings_only_followers_in_servers_that_see_it() -> None:
    follows = [_follow(1, 11, "Galway", 101), _follow(2, 22, "Galway", 201)]
    planned = plan_alerts(FROM_FEED, is_new=True, feed=FEED, alert_channels=CHANNELS, follows=follows, scopes={2})
    assert [(p.guild_id, p.channel_id, p.pings) for p in planned] == [(2, 200, [22])]
    # The same story also came through a shared source: every server sees it, and its followers are pinged.
    planned = plan_alerts(FROM_FEED, is_new=True, feed=FEED, alert_channels=CHANNELS, follows=follows, scopes={0})
    assert [(p.guild_id, p.channel_id, p.pings) for p in planned] == [(2, 200, [22]), (1, 100, [11])]


def test_a_shared_feed_article_goes_to_every_alert_channel() -> None:
    shared_feed = FeedOrigin(id=7, guild_id=2, channel_id=250, name="Cork News", shared=True)
    planned = plan_alerts(FROM_FEED, is_new=True, feed=shared_feed, alert_channels=CHANNELS, follows=[], scopes={0})
    assert [(p.guild_id, p.channel_id) for p in planned] == [(1, 100), (2, 200)]


def test_nothing_is_planned_where_the_article_is_not_visible() -> None:
    # Whatever the inputs, a server outside the article's scopes gets nothing.
    follows = [_follow(1, 11, "Galway", 101)]
    assert plan_alerts(FOLDER, is_new=True, feed=None, alert_channels=CHANNELS, follows=follows, scopes={2}) == [
        PlannedAlert(2, 200, [{"kind": "folder", "name": "watched folders"}])
    ]


def test_a_later_article_of_a_story_is_an_entry_of_its_post_and_pings_nobody_twice() -> None:
    follows = [
        _follow(1, 11, "Galway", 101),
        _follow(1, 12, "harbour", 101, kind="topic"),
        _follow(2, 11, "Galway", 201),
    ]
    planned = plan_alerts(FOLDER, is_new=True, feed=None, alert_channels=CHANNELS, follows=follows, scopes=SHARED)
    entries = within_stories(planned, story_posts={100: 7}, pinged={1: [11]})
    assert [(p.channel_id, p.thread_of, p.pings) for p in entries] == [(100, 7, [12]), (200, None, [11])]
    assert planned[0].thread_of is None and planned[0].pings == [11, 12]  # the plan itself is left as it was
    # An entry repeats nothing at the top of its channel, so a near-identical title does not hold it back.
    recent = {100: [title_key("Storm batters Galway")], 200: [title_key("Storm batters Galway")]}
    kept = without_repeats(entries, title_key("Storm batters Galway!"), recent)
    assert [p.channel_id for p in kept] == [100]
