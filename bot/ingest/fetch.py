"""A safe HTTP fetcher for feed and page URLs that users type into Discord.

Every URL is untrusted, so :class:`SafeFetcher` enforces, for every request and every redirect hop:

* only ``http`` and ``https``;
* no loopback, private, link-local, multicast, reserved, unspecified or cloud-metadata address,
  unless the address lies in ``allowed_private_networks`` (metadata services are refused always).
  Host names are checked by a resolver that filters the addresses aiohttp will connect to, so the
  check happens at connection time and DNS rebinding cannot slip an internal address past it;
  IP-literal hosts (which aiohttp never resolves) are checked before any connection is made;
* a total time limit for the whole fetch, redirects included;
* a hard cap on the (decompressed) body: the body is streamed and the connection dropped as soon
  as the cap is passed, and a ``Content-Length`` above the cap is refused before reading.

Failures raise :class:`FetchError`, whose message is one sentence fit to show a Discord user.
"""

from __future__ import annotations

import asyncio
import ipaddress
import re
import socket
from collections.abc import Sequence
from dataclasses import dataclass
from http import HTTPStatus
from types import TracebackType

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import DefaultResolver
from yarl import URL

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

DEFAULT_USER_AGENT = "Newsdesk/0.1 (+news bot)"
DEFAULT_ACCEPT = (
    "application/rss+xml, application/atom+xml, application/rdf+xml;q=0.9, "
    "application/xml;q=0.9, text/xml;q=0.9, text/html;q=0.8, */*;q=0.5"
)
MAX_REDIRECTS = 5
_CHUNK = 64 * 1024
_REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
# Statuses that will not change by asking again. 403 and 429 are left out on purpose: CDNs use them
# for rate limits and bot challenges that pass.
_PERMANENT_STATUSES = frozenset({400, 401, 404, 405, 410, 414, 451})

# Cloud instance-metadata endpoints. Refused even when an allowed network covers them: no feed lives
# there, and reaching one from the bot would hand out the host's cloud credentials.
_METADATA_ADDRESSES = frozenset(
    ipaddress.ip_address(a)
    for a in (
        "169.254.169.254",  # AWS, GCP, Azure, OpenStack, DigitalOcean …
        "169.254.170.2",  # AWS ECS task credentials
        "169.254.170.23",  # AWS EKS pod identity
        "fd00:ec2::254",  # AWS over IPv6
        "fd00:ec2::23",  # AWS EKS pod identity over IPv6
        "100.100.100.200",  # Alibaba Cloud
        "192.0.0.192",  # Oracle Cloud
    )
)
_NAT64 = ipaddress.ip_network("64:ff9b::/96")

PRIVATE_MESSAGE = "That address points to a private network, which feeds may not use."
METADATA_MESSAGE = "That address points to a cloud metadata service, which feeds may not use."

# The ``user:password@`` of a URL: from "://" to the last "@" before the path (linear: it cannot
# run past the next "/").
_CREDENTIALS = re.compile(r"(?<=://)[^/?#\s]*@")


def redact_url(text: str) -> str:
    """``text`` (a URL, or a message quoting URLs) with every ``user:password@`` replaced by ``***@``:
    feed URLs may carry credentials, and logs must not."""
    return _CREDENTIALS.sub("***@", text)


class FetchError(Exception):
    """A fetch failed; ``str(error)`` is one sentence for a Discord user.

    ``permanent`` says whether asking again can help: a bad scheme, a refused address or a 404/410 is
    permanent; a 5xx, a timeout or a broken connection is not.
    """

    def __init__(self, message: str, *, permanent: bool = False) -> None:
        super().__init__(message)
        self.permanent = permanent


@dataclass(frozen=True, slots=True)
class FetchResult:
    """One successful (or not-modified) response.

    ``url`` is the final address after redirects; ``content_type`` is the whole ``Content-Type``
    header (charset included) or ``""``; ``body`` is empty when ``not_modified``.
    """

    url: str
    status: int
    body: bytes
    content_type: str
    etag: str | None
    last_modified: str | None
    not_modified: bool = False


class AddressPolicy:
    """Decides which IP addresses a fetch may connect to."""

    def __init__(self, allowed_private_networks: Sequence[str] = ()) -> None:
        self.allowed: tuple[IPNetwork, ...] = tuple(
            ipaddress.ip_network(network, strict=False) for network in allowed_private_networks
        )

    def refusal(self, address: IPAddress) -> str | None:
        """Why ``address`` may not be used (one sentence), or ``None`` when it may."""
        if isinstance(address, ipaddress.IPv6Address) and address.scope_id:
            address = ipaddress.IPv6Address(int(address))  # fe80::1%eth0: the zone does not change the rules
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
            # ::ffff:a.b.c.d is a.b.c.d on a dual-stack socket; judge that address alone (older
            # Pythons call the whole mapped range private, which would refuse public hosts).
            address = address.ipv4_mapped
        candidates = [address, *_embedded_ipv4(address)]
        if any(candidate in _METADATA_ADDRESSES for candidate in candidates):
            return METADATA_MESSAGE
        if any(candidate in network for candidate in candidates for network in self.allowed):
            return None
        if any(_is_non_public(candidate) for candidate in candidates):
            return PRIVATE_MESSAGE
        return None


def _embedded_ipv4(address: IPAddress) -> list[ipaddress.IPv4Address]:
    """IPv4 addresses a (not IPv4-mapped) IPv6 address routes to via 6to4, Teredo or NAT64; they
    are checked as well as the IPv6 address itself."""
    if not isinstance(address, ipaddress.IPv6Address):
        return []
    found: list[ipaddress.IPv4Address] = []
    if address.sixtofour is not None:
        found.append(address.sixtofour)
    if address.teredo is not None:
        found.append(address.teredo[1])
    if address in _NAT64:
        found.append(ipaddress.IPv4Address(int(address) & 0xFFFFFFFF))
    return found


def _is_non_public(address: IPAddress) -> bool:
    # ``is_global`` alone misses multicast (224.0.0.0/4 counts as global) and, on older Pythons,
    # some special ranges; checking every flag keeps the rule obvious.
    return (
        not address.is_global
        or address.is_private
        or address.is_loopback
        or address.is_link_local
        or address.is_multicast
        or address.is_reserved
        or address.is_unspecified
        or (isinstance(address, ipaddress.IPv6Address) and address.is_site_local)
    )


class AddressRefused(OSError):
    """Raised by the resolver when every address of a name is refused.

    An :class:`OSError` because aiohttp turns resolver ``OSError`` s into ``ClientConnectorDNSError``
    and keeps the original as ``os_error``, where :meth:`SafeFetcher.fetch` finds it again.
    """

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class GuardedResolver(AbstractResolver):
    """Wraps a resolver and drops the addresses the policy refuses.

    aiohttp connects only to the addresses a resolver returns, so filtering here is a check at
    connection time: a name that resolves to a public address when the URL is added and to an
    internal one later (DNS rebinding) is still refused.
    """

    def __init__(self, policy: AddressPolicy, inner: AbstractResolver | None = None) -> None:
        self.policy = policy
        self.inner = inner if inner is not None else DefaultResolver()

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        """The resolved addresses of ``host`` the policy allows; :class:`AddressRefused` when none are."""
        kept: list[ResolveResult] = []
        refusals: set[str] = set()
        for result in await self.inner.resolve(host, port, family):
            try:
                address = ipaddress.ip_address(result["host"])
            except ValueError:
                continue  # not an address we can judge, so not one we connect to
            refusal = self.policy.refusal(address)
            if refusal is None:
                kept.append(result)
            else:
                refusals.add(refusal)
        if not kept and not refusals:
            raise OSError(f"{host} has no usable address")  # reported as a name that cannot be found
        if not kept:
            raise AddressRefused(METADATA_MESSAGE if METADATA_MESSAGE in refusals else PRIVATE_MESSAGE)
        return kept

    async def close(self) -> None:
        """Close the wrapped resolver."""
        await self.inner.close()


def _looks_like_ip(host: str) -> bool:
    # The same test aiohttp uses to skip the resolver (aiohttp.helpers.is_ip_address): whatever it
    # will not resolve, we must check here.
    return ":" in host or host.replace(".", "").isdigit()


def _size_text(limit: int) -> str:
    if limit >= 1_000_000:
        return f"{limit / 1_000_000:.3g} MB"
    if limit >= 1_000:
        return f"{limit / 1_000:.3g} kB"
    return f"{limit} bytes"


def _status_error(status: int, reason: str | None) -> FetchError:
    try:
        phrase = HTTPStatus(status).phrase
    except ValueError:
        phrase = reason or "unknown status"
    return FetchError(f"The server answered {status} ({phrase}).", permanent=status in _PERMANENT_STATUSES)


class SafeFetcher:
    """Fetches untrusted http(s) URLs with address checks, a time limit and a size cap.

    Use as ``async with SafeFetcher(timeout=15, max_bytes=5_000_000) as fetcher:``; it owns one
    :class:`aiohttp.ClientSession`. ``resolver`` is the name resolver to guard (tests inject a fake
    one); it defaults to aiohttp's.
    """

    def __init__(
        self,
        timeout: float,
        max_bytes: int,
        allowed_private_networks: Sequence[str] = (),
        user_agent: str = DEFAULT_USER_AGENT,
        *,
        resolver: AbstractResolver | None = None,
    ) -> None:
        self.timeout = timeout
        self.max_bytes = max_bytes
        self.user_agent = user_agent
        self.policy = AddressPolicy(allowed_private_networks)
        self._inner_resolver = resolver
        self._session: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> SafeFetcher:
        connector = aiohttp.TCPConnector(resolver=GuardedResolver(self.policy, self._inner_resolver), limit=32)
        self._session = aiohttp.ClientSession(
            connector=connector,
            headers={"User-Agent": self.user_agent},
            # A per-hop limit as well as the overall one in fetch().
            timeout=aiohttp.ClientTimeout(total=self.timeout),
            # Cookies from one feed must not travel to another site, and proxies from the
            # environment would connect on our behalf without the address check.
            cookie_jar=aiohttp.DummyCookieJar(),
            trust_env=False,
        )
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    async def close(self) -> None:
        """Close the HTTP session (and its connections)."""
        if self._session is not None:
            await self._session.close()
            self._session = None

    def check_url(self, url: str | URL) -> URL:
        """The parsed URL when its scheme and (IP-literal) host may be fetched; :class:`FetchError` if not.

        Host names are only checked when they are resolved, at connection time.
        """
        try:
            parsed = url if isinstance(url, URL) else URL(url.strip())
            port = parsed.port
        except (ValueError, TypeError, UnicodeError):
            raise FetchError("That is not a valid web address.", permanent=True) from None
        if parsed.scheme.lower() not in ("http", "https"):
            raise FetchError("Only http and https links can be used.", permanent=True)
        host = parsed.raw_host
        if not host or port is None:
            raise FetchError("That link has no host name.", permanent=True)
        if _looks_like_ip(host):
            try:
                address = ipaddress.ip_address(parsed.host or host)
            except ValueError:
                # e.g. 127.1 or 2130706433: legacy forms that C libraries map onto real addresses.
                raise FetchError("That address is not a valid IP address.", permanent=True) from None
            refusal = self.policy.refusal(address)
            if refusal is not None:
                raise FetchError(refusal, permanent=True)
        return parsed

    async def fetch(
        self,
        url: str,
        *,
        etag: str | None = None,
        last_modified: str | None = None,
        accept: str = DEFAULT_ACCEPT,
    ) -> FetchResult:
        """GET ``url``, following up to 5 redirects (each checked like the first URL).

        ``etag`` and ``last_modified`` (from an earlier result) make the request conditional; a 304
        answer gives a result with ``not_modified`` set and an empty body. Raises :class:`FetchError`.
        """
        if self._session is None:
            raise RuntimeError("SafeFetcher must be used as an async context manager")
        target = self.check_url(url)
        headers = {"Accept": accept}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        try:
            async with asyncio.timeout(self.timeout):
                return await self._follow(self._session, target, headers, etag, last_modified)
        except TimeoutError:
            raise FetchError(f"The server did not answer within {self.timeout:g} s.") from None

    async def _follow(
        self,
        session: aiohttp.ClientSession,
        target: URL,
        headers: dict[str, str],
        etag: str | None,
        last_modified: str | None,
    ) -> FetchResult:
        for _ in range(MAX_REDIRECTS + 1):
            host = target.host or ""
            try:
                # Redirects are followed by hand: aiohttp's own following would not re-check the scheme
                # of each hop (file:, ftp:) nor IP-literal hosts, which never reach the resolver.
                async with session.get(target, headers=headers, allow_redirects=False) as response:
                    if response.status in _REDIRECT_STATUSES:
                        target = self._redirect_target(response)
                        continue
                    return await self._result(response, etag, last_modified)
            except TimeoutError:
                raise  # aiohttp's timeout errors are ClientErrors too; fetch() words them
            except aiohttp.ClientConnectorDNSError as exc:
                if isinstance(exc.os_error, AddressRefused):
                    raise FetchError(exc.os_error.reason, permanent=True) from None
                raise FetchError(f"The name {host} could not be found.") from None
            except aiohttp.ClientConnectorCertificateError:
                raise FetchError(f"The secure connection to {host} could not be verified.") from None
            except aiohttp.ClientConnectorError:
                raise FetchError(f"Could not connect to {host}.") from None
            except aiohttp.InvalidURL:
                raise FetchError("That is not a valid web address.", permanent=True) from None
            except (aiohttp.ClientPayloadError, aiohttp.ServerDisconnectedError, aiohttp.ClientOSError):
                raise FetchError(f"The connection to {host} broke before the response was complete.") from None
            except aiohttp.ClientError:
                raise FetchError(f"The request to {host} failed.") from None
        raise FetchError(f"The address redirected more than {MAX_REDIRECTS} times.")

    def _redirect_target(self, response: aiohttp.ClientResponse) -> URL:
        location = response.headers.get("Location", "").strip()
        if not location:
            raise FetchError(f"The server answered {response.status} without saying where to go.")
        try:
            joined = response.url.join(URL(location))
        except (ValueError, TypeError, UnicodeError):
            raise FetchError("The server redirected to an invalid address.", permanent=True) from None
        return self.check_url(joined)

    async def _result(
        self, response: aiohttp.ClientResponse, etag: str | None, last_modified: str | None
    ) -> FetchResult:
        if response.status == 304:
            return FetchResult(
                url=str(response.url),
                status=304,
                body=b"",
                content_type=response.headers.get("Content-Type", ""),
                etag=response.headers.get("ETag") or etag,
                last_modified=response.headers.get("Last-Modified") or last_modified,
                not_modified=True,
            )
        if not 200 <= response.status < 300:
            raise _status_error(response.status, response.reason)
        body = await self._read_capped(response)
        return FetchResult(
            url=str(response.url),
            status=response.status,
            body=body,
            content_type=response.headers.get("Content-Type", ""),
            etag=response.headers.get("ETag"),
            last_modified=response.headers.get("Last-Modified"),
        )

    async def _read_capped(self, response: aiohttp.ClientResponse) -> bytes:
        """The body, read chunk by chunk; the connection is dropped as soon as the cap is passed.

        aiohttp decompresses gzip/deflate in bounded steps as we read, so the cap also bounds the
        decompressed size (a small gzip bomb stops here after ``max_bytes``).
        """
        too_large = FetchError(f"The response is larger than the {_size_text(self.max_bytes)} limit.")
        declared = response.content_length
        if declared is not None and declared > self.max_bytes:
            response.close()
            raise too_large
        chunks: list[bytes] = []
        total = 0
        async for chunk in response.content.iter_chunked(_CHUNK):
            total += len(chunk)
            if total > self.max_bytes:
                response.close()  # close, not release: the rest of the body must not be read
                raise too_large
            chunks.append(chunk)
        return b"".join(chunks)
