"""Which servers a gateway process serves, when the bot runs as several processes (``newsdesk run --shards``).

Discord splits a bot's servers into ``shard_count`` shards: server ``g`` is in shard
``(g >> 22) % shard_count``, and each gateway connection (one per shard) receives the events of its shard's
servers only — their messages, slash commands, joins and leaves. A process started with ``--shards 0-1
--shard-count 4`` holds the connections of shards 0 and 1, so it knows those servers and no other.

The rule for work about one server: **the process that owns the server's shard does it** (:meth:`ShardPlan.owns`).
Every process reads the same index, but only the owner

- answers the server's commands (Discord sends them nowhere else);
- records that the bot left or rejoined it, checks at start-up which of its servers removed the bot while it
  was away, and deletes its data when the grace period ends (:class:`bot.privacy.ServerRetirement`) — a
  process that judged "not among my servers" for the others' servers would delete them all;
- plans its spike posts and its digests (:class:`bot.alerts.spikes.SpikeWatch`,
  :class:`bot.alerts.digests.DigestScheduler`), so that two processes never plan the same post;
- sends its alerts: a dispatcher claims the outbox rows of its shards' servers only
  (:mod:`bot.alerts.dispatcher`), whose channels, roles and forums are in its cache;
- syncs the slash commands of the development server (``dev_guild_id``) at start-up.

Work about no server in particular runs in every process, where it is safe to repeat (pruning delivered
alerts). Servers of a shard that no process serves get none of this, as they get no answers: start one
process per shard range, covering ``0`` to ``shard_count - 1``. Without sharding one process owns everything.
"""

from __future__ import annotations

from dataclasses import dataclass

MAX_SHARDS = 65_536  # far beyond any bot: Discord recommends a shard per thousand or so servers


class ShardError(ValueError):
    """A shard list that cannot be served; the message is one sentence for the operator."""


def shard_of(guild_id: int, shard_count: int) -> int:
    """The shard that carries server ``guild_id`` when the bot runs ``shard_count`` shards (Discord's rule)."""
    return (guild_id >> 22) % shard_count


def parse_shard_ids(text: str, shard_count: int) -> tuple[int, ...]:
    """``"0-1"`` → ``(0, 1)``, ``"2"`` → ``(2,)``, ``"0,2"`` or ``"0-1,3"`` as written; empty: every shard.

    Each id must be below ``shard_count``, and none named twice; :class:`ShardError` says what is wrong."""
    if not 1 <= shard_count <= MAX_SHARDS:
        raise ShardError(f"the shard count must be 1 to {MAX_SHARDS}, not {shard_count}")
    if not text.strip():
        return tuple(range(shard_count))
    ids: list[int] = []
    for part in text.split(","):
        first, dash, last = part.strip().partition("-")
        if not first.strip().isdigit() or (dash and not last.strip().isdigit()):
            raise ShardError(f"{part.strip()!r} is not a shard number or a range like 0-3")
        low, high = int(first), int(last) if dash else int(first)
        if low > high:
            raise ShardError(f"the range {low}-{high} runs backwards")
        if high >= shard_count:
            raise ShardError(
                f"shard {high} does not exist: with {shard_count} shards they run from 0 to {shard_count - 1}"
            )
        for shard_id in range(low, high + 1):
            if shard_id in ids:
                raise ShardError(f"shard {shard_id} is named twice")
            ids.append(shard_id)
    return tuple(sorted(ids))


@dataclass(frozen=True, slots=True)
class ShardPlan:
    """The shards this process serves (``ids``) out of the bot's ``count``; one shard of one when unsharded."""

    count: int = 1
    ids: tuple[int, ...] = (0,)

    def owns(self, guild_id: int) -> bool:
        """Whether this process serves server ``guild_id``, and so does the work about it (module docstring)."""
        return self.count == 1 or shard_of(guild_id, self.count) in self.ids

    def describe(self) -> str:
        """``"shards 0-1 of 4"`` for the logs."""
        ranges: list[str] = []
        start = previous = self.ids[0]
        for shard_id in [*self.ids[1:], None]:
            if shard_id is not None and shard_id == previous + 1:
                previous = shard_id
                continue
            ranges.append(str(start) if start == previous else f"{start}-{previous}")
            if shard_id is not None:
                start = previous = shard_id
        return f"{'shard' if len(self.ids) == 1 else 'shards'} {','.join(ranges)} of {self.count}"
