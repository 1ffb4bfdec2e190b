"""SafeFetcher against a local server: conditional requests, errors, limits and every address check.

All traffic stays on 127.0.0.1; refused addresses are refused before any connection is made.
"""

from __future__ import annotations

import gzip
import ipaddress
import socket
import time
import tracemalloc
from collections.abc import AsyncIterator

import pytest
from aiohttp.abc import AbstractResolver, ResolveResult

from bot.ingest.fetch import (
    METADATA_MESSAGE,
    PRIVATE_MESSAGE,
    AddressPolicy,
    FetchError,
    SafeFetcher,
)
from tests.feed_server import FIFTY_MB, Behaviour, FeedServer, rss_document

CAP = 1_000_000
DOC = rss_document([{"title": "One", "link": "https://news.example/1", "description": "Text."}])


@pytest.fixture
async def server() -> AsyncIterator[FeedServer]:
    async with FeedServer() as running:
        yield running


@pytest.fixture
async def fetcher() -> AsyncIterator[SafeFetcher]:
    """Loopback allowed (the test server lives there), nothing else private."""
    async with SafeFetcher(timeout=2.0, max_bytes=CAP, allowed_private_networks=("127.0.0.1",)) as opened:
        yield opened


async def _refusal(fetcher: SafeFetcher, url: str) -> tuple[FetchError, float]:
    started = time.perf_counter()
    with pytest.raises(FetchError) as caught:
        await fetcher.fetch(url)
    return caught.value, time.perf_counter() - started


# --- plain fetching ------------------------------------------------------------------------------


async def test_fetch_returns_body_validators_and_final_url(server: FeedServer, fetcher: SafeFetcher) -> None:
    url = server.serve("/feed.xml", DOC, etag='"v1"', last_modified="Fri, 12 Apr 2024 18:00:00 GMT")
    result = await fetcher.fetch(url)
    assert (result.url, result.status, result.body) == (url, 200, DOC)
    assert result.content_type.startswith("application/rss+xml")
    assert (result.etag, result.last_modified) == ('"v1"', "Fri, 12 Apr 2024 18:00:00 GMT")
    assert not result.not_modified
    assert server.requests["/feed.xml"][0]["User-Agent"] == "Newsdesk/0.1 (+news bot)"


async def test_matching_etag_gets_304_not_modified(server: FeedServer, fetcher: SafeFetcher) -> None:
    url = server.serve("/feed.xml", DOC, etag='"v1"')
    result = await fetcher.fetch(url, etag='"v1"')
    assert result.not_modified and result.status == 304 and result.body == b""
    assert result.etag == '"v1"'
    assert server.requests["/feed.xml"][0]["If-None-Match"] == '"v1"'


async def test_stale_etag_gets_the_new_body(server: FeedServer, fetcher: SafeFetcher) -> None:
    url = server.serve("/feed.xml", DOC, etag='"v2"')
    result = await fetcher.fetch(url, etag='"v1"')
    assert not result.not_modified and result.body == DOC and result.etag == '"v2"'


async def test_last_modified_gets_304(server: FeedServer, fetcher: SafeFetcher) -> None:
    stamp = "Fri, 12 Apr 2024 18:00:00 GMT"
    url = server.serve("/feed.xml", DOC, last_modified=stamp)
    result = await fetcher.fetch(url, last_modified=stamp)
    assert result.not_modified and result.last_modified == stamp
    assert server.requests["/feed.xml"][0]["If-Modified-Since"] == stamp


async def test_gzip_body_is_decompressed(server: FeedServer, fetcher: SafeFetcher) -> None:
    url = server.add("/feed.xml", Behaviour(body=gzip.compress(DOC), gzip=True))
    assert (await fetcher.fetch(url)).body == DOC


# --- HTTP errors -----------------------------------------------------------------------------------


async def test_500_is_a_temporary_failure(server: FeedServer, fetcher: SafeFetcher) -> None:
    error, _ = await _refusal(fetcher, server.fail("/feed.xml", 500))
    assert str(error) == "The server answered 500 (Internal Server Error)."
    assert not error.permanent


@pytest.mark.parametrize(("status", "phrase"), [(404, "Not Found"), (410, "Gone")])
async def test_404_and_410_are_permanent(server: FeedServer, fetcher: SafeFetcher, status: int, phrase: str) -> None:
    error, _ = await _refusal(fetcher, server.fail("/feed.xml", status))
    assert str(error) == f"The server answered {status} ({phrase})."
    assert error.permanent


async def test_slow_server_times_out(server: FeedServer) -> None:
    url = server.slow("/feed.xml", 5.0, DOC)
    async with SafeFetcher(timeout=0.3, max_bytes=CAP, allowed_private_networks=("127.0.0.1",)) as fetcher:
        error, elapsed = await _refusal(fetcher, url)
    assert str(error) == "The server did not answer within 0.3 s."
    assert not error.permanent and elapsed < 2


async def test_closed_port_is_a_temporary_connection_failure(fetcher: SafeFetcher) -> None:
    with socket.socket() as sock:  # a port nobody listens on once this socket closes
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    error, _ = await _refusal(fetcher, f"http://127.0.0.1:{port}/feed.xml")
    assert str(error) == "Could not connect to 127.0.0.1."
    assert not error.permanent


# --- size limits -----------------------------------------------------------------------------------


async def test_50_mb_stream_is_cut_off_at_the_cap(server: FeedServer, fetcher: SafeFetcher) -> None:
    url = server.huge("/huge.xml", FIFTY_MB)  # chunked: no Content-Length to refuse early
    tracemalloc.start()
    try:
        error, _ = await _refusal(fetcher, url)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert str(error) == "The response is larger than the 1 MB limit."
    # The client hung up: the server's writes failed long before 50 MB (socket buffers hold a few MB).
    assert await server.wait_disconnected("/huge.xml")
    assert server.sent["/huge.xml"] < FIFTY_MB // 2
    assert peak < 8 * CAP, f"peak Python memory {peak:,} bytes while reading a capped body"


async def test_declared_length_over_cap_is_refused_before_reading(server: FeedServer, fetcher: SafeFetcher) -> None:
    url = server.huge("/huge.xml", FIFTY_MB, declare_length=True)
    tracemalloc.start()
    try:
        error, elapsed = await _refusal(fetcher, url)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert str(error) == "The response is larger than the 1 MB limit."
    assert await server.wait_disconnected("/huge.xml")
    assert elapsed < 1
    assert peak < CAP // 2, f"peak Python memory {peak:,} bytes: the body was read before refusing"


async def test_gzip_bomb_is_refused_without_inflating_it(server: FeedServer, fetcher: SafeFetcher) -> None:
    url = server.gzip_bomb("/bomb.xml", FIFTY_MB)  # ~50 kB on the wire, Content-Length under the cap
    tracemalloc.start()
    try:
        error, _ = await _refusal(fetcher, url)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert str(error) == "The response is larger than the 1 MB limit."
    assert peak < 8 * CAP, f"peak Python memory {peak:,} bytes while inflating a gzip bomb"


# --- redirects -------------------------------------------------------------------------------------


async def test_redirects_are_followed_to_the_final_url(server: FeedServer, fetcher: SafeFetcher) -> None:
    final = server.serve("/new.xml", DOC)
    for hop in range(1, 5):  # /r1 -> /r2 -> ... -> /r5 -> /new.xml: five redirects, the most allowed
        server.redirect(f"/r{hop}", f"/r{hop + 1}", status=301 if hop % 2 else 308)
    server.redirect("/r5", final)
    result = await fetcher.fetch(server.url("/r1"))
    assert result.url == final and result.body == DOC
    assert all(server.hits[f"/r{hop}"] == 1 for hop in range(1, 6))


async def test_redirect_loop_stops_after_five(server: FeedServer, fetcher: SafeFetcher) -> None:
    error, _ = await _refusal(fetcher, server.redirect("/loop", "/loop"))
    assert str(error) == "The address redirected more than 5 times."
    assert server.hits["/loop"] == 6


@pytest.mark.parametrize(
    ("target", "message"),
    [
        ("http://169.254.169.254/latest/meta-data", METADATA_MESSAGE),
        ("http://[fd00:ec2::254]/latest/meta-data", METADATA_MESSAGE),
        ("http://[::ffff:169.254.169.254]/latest/meta-data", METADATA_MESSAGE),
        ("http://10.0.0.1/", PRIVATE_MESSAGE),
        ("http://10.255.255.1/admin", PRIVATE_MESSAGE),
        ("http://192.168.0.1/", PRIVATE_MESSAGE),
        ("http://[::1]/", PRIVATE_MESSAGE),
        ("file:///etc/passwd", "Only http and https links can be used."),
        ("ftp://127.0.0.1/feed.xml", "Only http and https links can be used."),
    ],
)
async def test_redirect_to_a_forbidden_address_is_refused(
    server: FeedServer, fetcher: SafeFetcher, target: str, message: str
) -> None:
    """127.0.0.1 is allowed for the first hop; the next hop is checked on its own."""
    error, elapsed = await _refusal(fetcher, server.redirect("/go", target))
    assert str(error) == message
    assert error.permanent and elapsed < 1  # refused, not timed out connecting
    assert server.hits["/go"] == 1


# --- schemes and addresses -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    ["ftp://example.com/feed.xml", "file:///etc/passwd", "gopher://example.com/", "javascript:alert(1)", "feed"],
)
async def test_only_http_and_https(fetcher: SafeFetcher, url: str) -> None:
    error, _ = await _refusal(fetcher, url)
    assert str(error) == "Only http and https links can be used." and error.permanent


@pytest.mark.parametrize(
    "url",
    [
        "http://10.255.255.1/feed.xml",  # unroutable: a connection attempt would hang until the timeout
        "http://172.16.0.1/",
        "http://192.168.1.1/",
        "http://100.64.0.1/",  # carrier-grade NAT
        "http://0.0.0.0/",
        "http://224.0.0.1/",  # multicast
        "http://240.0.0.1/",  # reserved
        "http://[::]/",
        "http://[fe80::1]/",
        "http://[fc00::1]/",
        "http://[::ffff:10.255.255.1]/",  # IPv4-mapped
        "http://[64:ff9b::a00:1]/",  # NAT64 of 10.0.0.1
        "http://[2002:a00:1::]/",  # 6to4 of 10.0.0.1
    ],
)
async def test_private_ip_literals_are_refused_without_connecting(fetcher: SafeFetcher, url: str) -> None:
    error, elapsed = await _refusal(fetcher, url)
    assert str(error) == PRIVATE_MESSAGE and error.permanent
    assert elapsed < 0.5, "looks like a connection was attempted"


@pytest.mark.parametrize("host", ["127.1", "2130706433", "0177.0.0.1"])
async def test_legacy_numeric_hosts_are_refused(server: FeedServer, fetcher: SafeFetcher, host: str) -> None:
    """C libraries read these as 127.0.0.1; they are refused rather than guessed at."""
    server.serve("/feed.xml", DOC)
    error, _ = await _refusal(fetcher, f"http://{host}:{server.port}/feed.xml")
    assert str(error) == "That address is not a valid IP address." and error.permanent
    assert server.hits["/feed.xml"] == 0


async def test_loopback_and_localhost_refused_when_not_allowed(server: FeedServer) -> None:
    server.serve("/feed.xml", DOC)
    async with SafeFetcher(timeout=2.0, max_bytes=CAP) as strict:
        for url in (server.url("/feed.xml"), f"http://localhost:{server.port}/feed.xml"):
            error, _ = await _refusal(strict, url)
            assert str(error) == PRIVATE_MESSAGE and error.permanent
    assert server.hits["/feed.xml"] == 0


async def test_localhost_resolves_to_an_allowed_loopback(server: FeedServer, fetcher: SafeFetcher) -> None:
    """localhost's ::1 is dropped (not allowed) and 127.0.0.1 kept, so the fetch works."""
    server.serve("/feed.xml", DOC)
    assert (await fetcher.fetch(f"http://localhost:{server.port}/feed.xml")).body == DOC


class FakeResolver(AbstractResolver):
    """Resolves names from a table, as a hostile DNS server would."""

    def __init__(self, table: dict[str, list[str]]) -> None:
        self.table = table
        self.calls: list[str] = []

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        self.calls.append(host)
        return [
            ResolveResult(
                hostname=host,
                host=address,
                port=port,
                family=socket.AF_INET6 if ":" in address else socket.AF_INET,
                proto=0,
                flags=socket.AI_NUMERICHOST,
            )
            for address in self.table[host]
        ]

    async def close(self) -> None:
        pass


async def test_names_are_checked_when_resolved(server: FeedServer) -> None:
    """A harmless-looking name that resolves to an internal address is refused at connection time;
    a name with a mix of addresses connects only to the allowed one."""
    server.serve("/feed.xml", DOC)
    resolver = FakeResolver(
        {
            "rebind.example": ["10.255.255.1"],
            "metadata.example": ["169.254.169.254"],
            "mixed.example": ["10.255.255.1", "127.0.0.1"],
        }
    )
    async with SafeFetcher(2.0, CAP, ("127.0.0.1",), resolver=resolver) as fetcher:
        error, elapsed = await _refusal(fetcher, f"http://rebind.example:{server.port}/feed.xml")
        assert str(error) == PRIVATE_MESSAGE and error.permanent and elapsed < 0.5
        error, _ = await _refusal(fetcher, f"http://metadata.example:{server.port}/feed.xml")
        assert str(error) == METADATA_MESSAGE
        result = await fetcher.fetch(f"http://mixed.example:{server.port}/feed.xml")
        assert result.body == DOC
    assert resolver.calls == ["rebind.example", "metadata.example", "mixed.example"]
    assert server.hits["/feed.xml"] == 1


@pytest.mark.parametrize(
    ("address", "allowed", "expected"),
    [
        ("8.8.8.8", (), None),
        ("2606:4700:4700::1111", (), None),
        ("::ffff:8.8.8.8", (), None),
        ("127.0.0.1", (), PRIVATE_MESSAGE),
        ("127.0.0.1", ("127.0.0.1",), None),
        ("127.0.0.2", ("127.0.0.1",), PRIVATE_MESSAGE),
        ("10.1.2.3", ("10.0.0.0/8",), None),
        ("::ffff:127.0.0.1", ("127.0.0.1",), None),
        ("::ffff:10.0.0.1", (), PRIVATE_MESSAGE),
        ("169.254.169.254", (), METADATA_MESSAGE),
        ("169.254.169.254", ("169.254.0.0/16",), METADATA_MESSAGE),  # metadata never allowed
        ("fd00:ec2::254", ("fd00::/8",), METADATA_MESSAGE),
        ("fd00:ec2::254%eth0", ("fd00::/8",), METADATA_MESSAGE),
        ("fe80::1%eth0", (), PRIVATE_MESSAGE),
        ("100.100.100.200", (), METADATA_MESSAGE),
        ("169.254.1.1", (), PRIVATE_MESSAGE),
        ("ff02::1", (), PRIVATE_MESSAGE),
        ("239.255.255.250", (), PRIVATE_MESSAGE),
    ],
)
def test_address_policy(address: str, allowed: tuple[str, ...], expected: str | None) -> None:
    assert AddressPolicy(allowed).refusal(ipaddress.ip_address(address)) == expected


async def test_fetch_needs_the_context_manager() -> None:
    with pytest.raises(RuntimeError):
        await SafeFetcher(1.0, CAP).fetch("http://127.0.0.1/")
