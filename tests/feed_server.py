"""A local feed server for tests and benchmarks: aiohttp on 127.0.0.1, random port, scripted paths.

Usage::

    async with FeedServer() as server:
        server.serve("/feed.xml", rss_document([{"title": "A", "link": "https://x.example/a"}]), etag='"v1"')
        server.fail("/broken", 500)
        server.huge("/big")                       # 50 MB, streamed chunk by chunk
        server.drip("/slow", body, interval=0.5)  # 16 bytes every half second, never finishing in time
        url = server.url("/feed.xml")
        ...
        assert server.hits["/feed.xml"] == 1

Every path keeps a count of requests (``hits``), the headers of each request (``requests``), the
bytes a streamed body sent (``sent``) and whether the client hung up mid-body (``disconnected``);
``max_in_flight`` is the most requests answered at once. Unknown paths answer 404.
"""

from __future__ import annotations

import asyncio
import functools
import socket
import zlib
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime, parsedate_to_datetime
from types import TracebackType
from typing import Any
from xml.sax.saxutils import escape

from aiohttp import web

RSS_TYPE = "application/rss+xml; charset=utf-8"
ATOM_TYPE = "application/atom+xml; charset=utf-8"
HTML_TYPE = "text/html; charset=utf-8"
STREAM_CHUNK = 64 * 1024
FIFTY_MB = 50 * 1024 * 1024


@dataclass
class Behaviour:
    """What one path answers. Built by :class:`FeedServer`'s helper methods."""

    body: bytes = b""
    content_type: str = RSS_TYPE
    status: int = 200
    etag: str | None = None
    last_modified: str | None = None
    delay: float = 0.0
    redirect_to: str | None = None
    stream_bytes: int = 0  # > 0: stream this many bytes of filler instead of ``body``
    declare_length: bool = False  # with stream_bytes: send Content-Length up front
    gzip: bool = False  # send ``body`` as is with Content-Encoding: gzip (it must be gzip data)
    drip_bytes: int = 0  # > 0: send ``body`` this many bytes at a time…
    drip_interval: float = 0.0  # …with this many seconds between them
    headers: dict[str, str] = field(default_factory=dict)


class FeedServer:
    """An aiohttp server on 127.0.0.1 (random port) answering scripted behaviours per path."""

    def __init__(self) -> None:
        self.behaviours: dict[str, Behaviour] = {}
        self.hits: Counter[str] = Counter()
        self.requests: defaultdict[str, list[Mapping[str, str]]] = defaultdict(list)
        self.sent: Counter[str] = Counter()
        self.disconnected: defaultdict[str, asyncio.Event] = defaultdict(asyncio.Event)
        self.in_flight = 0  # requests being answered now…
        self.max_in_flight = 0  # …and the most at once, to check client concurrency caps
        self.port = 0
        self._runner: web.AppRunner | None = None

    # --- lifecycle -------------------------------------------------------------------------------

    async def __aenter__(self) -> FeedServer:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False, shutdown_timeout=0.1)
        await self._runner.setup()
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))
        self.port = sock.getsockname()[1]
        await web.SockSite(self._runner, sock).start()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    @property
    def base(self) -> str:
        """``http://127.0.0.1:<port>``."""
        return f"http://127.0.0.1:{self.port}"

    def url(self, path: str) -> str:
        """The full URL of ``path`` on this server."""
        return self.base + (path if path.startswith("/") else "/" + path)

    # --- scripting -------------------------------------------------------------------------------

    def add(self, path: str, behaviour: Behaviour) -> str:
        """Answer ``path`` with ``behaviour``; returns the path's URL."""
        self.behaviours[path] = behaviour
        return self.url(path)

    def serve(
        self,
        path: str,
        body: bytes | str,
        *,
        content_type: str = RSS_TYPE,
        etag: str | None = None,
        last_modified: str | datetime | None = None,
        status: int = 200,
        headers: Mapping[str, str] | None = None,
    ) -> str:
        """Serve ``body``; with ``etag``/``last_modified`` a matching conditional request gets 304."""
        if isinstance(last_modified, datetime):
            last_modified = format_datetime(last_modified.astimezone(UTC), usegmt=True)
        return self.add(
            path,
            Behaviour(
                body=body.encode("utf-8") if isinstance(body, str) else body,
                content_type=content_type,
                status=status,
                etag=etag,
                last_modified=last_modified,
                headers=dict(headers or {}),
            ),
        )

    def fail(self, path: str, status: int, body: bytes = b"") -> str:
        """Answer ``status`` (500, 404, …)."""
        return self.add(
            path, Behaviour(body=body or f"error {status}".encode(), status=status, content_type="text/plain")
        )

    def slow(self, path: str, delay: float, body: bytes | str = b"", *, content_type: str = RSS_TYPE) -> str:
        """Wait ``delay`` seconds before answering (for timeouts)."""
        data = body.encode("utf-8") if isinstance(body, str) else body
        return self.add(path, Behaviour(body=data, delay=delay, content_type=content_type))

    def huge(self, path: str, size: int = FIFTY_MB, *, declare_length: bool = False) -> str:
        """Stream ``size`` bytes chunk by chunk (never held in memory); chunked unless ``declare_length``."""
        return self.add(path, Behaviour(stream_bytes=size, declare_length=declare_length, content_type=RSS_TYPE))

    def drip(self, path: str, body: bytes | str, *, size: int = 16, interval: float = 0.5) -> str:
        """Trickle ``body`` out ``size`` bytes every ``interval`` seconds (a slow-loris server)."""
        data = body.encode("utf-8") if isinstance(body, str) else body
        return self.add(path, Behaviour(body=data, drip_bytes=size, drip_interval=interval))

    def redirect(self, path: str, to: str, status: int = 302) -> str:
        """Redirect to ``to`` (absolute, or a path on this server)."""
        return self.add(path, Behaviour(status=status, redirect_to=to))

    def gzip_bomb(self, path: str, size: int = FIFTY_MB) -> str:
        """A small gzip body that inflates to ``size`` zero bytes, sent with Content-Encoding: gzip."""
        return self.add(path, Behaviour(body=gzip_zeros(size), gzip=True, content_type=RSS_TYPE))

    def malformed(self, path: str) -> str:
        """Serve :data:`MALFORMED_XML`."""
        return self.serve(path, MALFORMED_XML)

    def billion_laughs(self, path: str) -> str:
        """Serve :data:`BILLION_LAUGHS`."""
        return self.serve(path, BILLION_LAUGHS)

    async def wait_disconnected(self, path: str, timeout: float = 5.0) -> bool:  # noqa: ASYNC109
        """Whether the client hung up during ``path``'s streamed body within ``timeout`` seconds."""
        try:
            await asyncio.wait_for(self.disconnected[path].wait(), timeout)
        except TimeoutError:
            return False
        return True

    # --- serving ---------------------------------------------------------------------------------

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            return await self._answer(request)
        finally:
            self.in_flight -= 1

    async def _answer(self, request: web.Request) -> web.StreamResponse:
        path = request.path
        self.hits[path] += 1
        self.requests[path].append(dict(request.headers))
        behaviour = self.behaviours.get(path)
        if behaviour is None:
            return web.Response(status=404, text="not found")
        if behaviour.delay:
            await asyncio.sleep(behaviour.delay)
        if behaviour.redirect_to is not None:
            return web.Response(status=behaviour.status, headers={"Location": behaviour.redirect_to})
        if _not_modified(request, behaviour):
            headers = {k: v for k, v in (("ETag", behaviour.etag), ("Last-Modified", behaviour.last_modified)) if v}
            return web.Response(status=304, headers=headers)
        headers = dict(behaviour.headers)
        headers["Content-Type"] = behaviour.content_type
        if behaviour.etag:
            headers["ETag"] = behaviour.etag
        if behaviour.last_modified:
            headers["Last-Modified"] = behaviour.last_modified
        if behaviour.stream_bytes:
            return await self._stream(request, path, behaviour, headers)
        if behaviour.drip_bytes:
            return await self._drip(request, path, behaviour, headers)
        if behaviour.gzip:
            headers["Content-Encoding"] = "gzip"
        return web.Response(status=behaviour.status, body=behaviour.body, headers=headers)

    async def _stream(
        self, request: web.Request, path: str, behaviour: Behaviour, headers: dict[str, str]
    ) -> web.StreamResponse:
        response = web.StreamResponse(status=behaviour.status, headers=headers)
        if behaviour.declare_length:
            response.content_length = behaviour.stream_bytes
        else:
            response.enable_chunked_encoding()
        chunk = b"<!-- " + b"x" * (STREAM_CHUNK - 9) + b" -->\n"
        try:
            await response.prepare(request)
            remaining = behaviour.stream_bytes
            while remaining > 0:
                piece = chunk[:remaining]
                await response.write(piece)
                self.sent[path] += len(piece)
                remaining -= len(piece)
            await response.write_eof()
        except ConnectionError:
            # ConnectionResetError ("Cannot write to closing transport"): the client hung up.
            self.disconnected[path].set()
        except asyncio.CancelledError:
            self.disconnected[path].set()
            raise
        return response


    async def _drip(
        self, request: web.Request, path: str, behaviour: Behaviour, headers: dict[str, str]
    ) -> web.StreamResponse:
        response = web.StreamResponse(status=behaviour.status, headers=headers)
        response.content_length = len(behaviour.body)
        try:
            await response.prepare(request)
            for start in range(0, len(behaviour.body), behaviour.drip_bytes):
                await response.write(behaviour.body[start : start + behaviour.drip_bytes])
                self.sent[path] += min(behaviour.drip_bytes, len(behaviour.body) - start)
                await asyncio.sleep(behaviour.drip_interval)
            await response.write_eof()
        except (ConnectionError, asyncio.CancelledError) as exc:
            self.disconnected[path].set()
            if isinstance(exc, asyncio.CancelledError):
                raise
        return response


def _not_modified(request: web.Request, behaviour: Behaviour) -> bool:
    """RFC 9110: If-None-Match wins over If-Modified-Since when both are sent."""
    if_none_match = request.headers.get("If-None-Match")
    if if_none_match is not None:
        if not behaviour.etag:
            return False
        tags = [tag.strip() for tag in if_none_match.split(",")]
        return "*" in tags or behaviour.etag in tags
    if_modified_since = request.headers.get("If-Modified-Since")
    if if_modified_since and behaviour.last_modified:
        try:
            return parsedate_to_datetime(behaviour.last_modified) <= parsedate_to_datetime(if_modified_since)
        except (TypeError, ValueError):
            return False
    return False


@functools.lru_cache(maxsize=4)
def gzip_zeros(size: int) -> bytes:
    """Gzip data that inflates to ``size`` zero bytes (about 1000:1), built without holding ``size`` bytes."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, 31)  # wbits 31: gzip header and trailer
    block = bytes(1024 * 1024)
    parts: list[bytes] = []
    remaining = size
    while remaining > 0:
        parts.append(compressor.compress(block[: min(remaining, len(block))]))
        remaining -= len(block)
    parts.append(compressor.flush())
    return b"".join(parts)


# --- documents -------------------------------------------------------------------------------------


def _date_text(value: Any, *, iso: bool) -> str:
    if isinstance(value, datetime):
        moment = value if value.tzinfo else value.replace(tzinfo=UTC)
        return moment.isoformat() if iso else format_datetime(moment.astimezone(UTC), usegmt=True)
    return str(value)


def rss_document(
    items: Iterable[Mapping[str, Any]],
    *,
    title: str = "Test News",
    link: str = "https://news.example/",
    description: str = "Test feed",
) -> bytes:
    """An RSS 2.0 document. Item keys (all optional): title, link, guid, description (HTML allowed,
    escaped for you), content (full HTML, as content:encoded), published (datetime or text)."""
    parts = [
        '<?xml version="1.0" encoding="utf-8"?>',
        '<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/">',
        f"<channel><title>{escape(title)}</title><link>{escape(link)}</link>",
        f"<description>{escape(description)}</description>",
    ]
    for item in items:
        parts.append("<item>")
        for key, tag in (("title", "title"), ("link", "link"), ("description", "description")):
            if item.get(key) is not None:
                parts.append(f"<{tag}>{escape(str(item[key]))}</{tag}>")
        if item.get("guid") is not None:
            parts.append(f'<guid isPermaLink="false">{escape(str(item["guid"]))}</guid>')
        if item.get("content") is not None:
            parts.append(f"<content:encoded>{escape(str(item['content']))}</content:encoded>")
        if item.get("published") is not None:
            parts.append(f"<pubDate>{escape(_date_text(item['published'], iso=False))}</pubDate>")
        parts.append("</item>")
    parts.append("</channel></rss>")
    return "\n".join(parts).encode("utf-8")


def rss1_document(
    items: Iterable[Mapping[str, Any]],
    *,
    title: str = "Test News",
    link: str = "https://news.example/",
) -> bytes:
    """An RSS 1.0 (RDF) document. Item keys: title, link (required), description, published."""
    items = list(items)
    seq = "".join(f'<rdf:li rdf:resource="{escape(str(i["link"]))}"/>' for i in items)
    parts = [
        '<?xml version="1.0" encoding="utf-8"?>',
        '<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns="http://purl.org/rss/1.0/"'
        ' xmlns:dc="http://purl.org/dc/elements/1.1/">',
        f'<channel rdf:about="{escape(link)}"><title>{escape(title)}</title><link>{escape(link)}</link>',
        f"<description>Test feed</description><items><rdf:Seq>{seq}</rdf:Seq></items></channel>",
    ]
    for item in items:
        parts.append(f'<item rdf:about="{escape(str(item["link"]))}">')
        parts.append(f"<title>{escape(str(item.get('title', '')))}</title><link>{escape(str(item['link']))}</link>")
        if item.get("description") is not None:
            parts.append(f"<description>{escape(str(item['description']))}</description>")
        if item.get("published") is not None:
            parts.append(f"<dc:date>{escape(_date_text(item['published'], iso=True))}</dc:date>")
        parts.append("</item>")
    parts.append("</rdf:RDF>")
    return "\n".join(parts).encode("utf-8")


def atom_document(
    items: Iterable[Mapping[str, Any]],
    *,
    title: str = "Test News",
    link: str = "https://news.example/",
    feed_id: str = "urn:uuid:60a76c80-d399-11d9-b93C-0003939e0af6",
) -> bytes:
    """An Atom 1.0 document. Entry keys (all optional): title, link, id, summary (HTML), content
    (HTML), published / updated (datetime or text)."""
    parts = [
        '<?xml version="1.0" encoding="utf-8"?>',
        '<feed xmlns="http://www.w3.org/2005/Atom">',
        f'<title>{escape(title)}</title><link href="{escape(link)}"/><id>{escape(feed_id)}</id>',
        "<updated>2024-04-12T18:00:00Z</updated>",
    ]
    for number, item in enumerate(items):
        parts.append("<entry>")
        parts.append(f"<id>{escape(str(item.get('id', f'urn:test:{number}')))}</id>")
        if item.get("title") is not None:
            parts.append(f'<title type="html">{escape(str(item["title"]))}</title>')
        if item.get("link") is not None:
            parts.append(f'<link rel="alternate" href="{escape(str(item["link"]))}"/>')
        if item.get("summary") is not None:
            parts.append(f'<summary type="html">{escape(str(item["summary"]))}</summary>')
        if item.get("content") is not None:
            parts.append(f'<content type="html">{escape(str(item["content"]))}</content>')
        for key in ("published", "updated"):
            if item.get(key) is not None:
                parts.append(f"<{key}>{escape(_date_text(item[key], iso=True))}</{key}>")
        parts.append("</entry>")
    parts.append("</feed>")
    return "\n".join(parts).encode("utf-8")


def html_page(title: str, paragraphs: Iterable[str], *, site: str = "Test News") -> bytes:
    """An article page with navigation and footer boilerplate around the text."""
    body = "\n".join(f"<p>{escape(p)}</p>" for p in paragraphs)
    return (
        "<!DOCTYPE html><html><head>"
        f'<meta charset="utf-8"><title>{escape(title)} | {escape(site)}</title>'
        f'<meta property="og:site_name" content="{escape(site)}"></head><body>'
        '<nav><a href="/">Home</a> <a href="/world">World</a> <a href="/sport">Sport</a></nav>'
        f"<main><article><h1>{escape(title)}</h1>{body}</article></main>"
        "<footer>Copyright Test News. All rights reserved. Privacy policy.</footer>"
        "</body></html>"
    ).encode()


MALFORMED_XML = b'<?xml version="1.0"?>\n<rss version="2.0"><channel><title>Broken<item><title>Unclosed'

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE rss [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<rss version="2.0"><channel><title>Laughs</title><link>https://news.example/</link>
<item><title>&lol9;</title><link>https://news.example/lol</link><description>&lol9;</description></item>
</channel></rss>"""


def external_entity_document(system_id: str) -> bytes:
    """An RSS document whose item text is an external entity pointing at ``system_id`` (a file:
    or http: URL); a vulnerable parser would read or fetch it."""
    return f"""<?xml version="1.0"?>
<!DOCTYPE rss [ <!ENTITY xxe SYSTEM "{escape(system_id)}"> ]>
<rss version="2.0"><channel><title>XXE</title><link>https://news.example/</link>
<item><title>Secret</title><link>https://news.example/xxe</link><description>&xxe;</description></item>
</channel></rss>""".encode()
