"""The bot's HTTP client for the Bot API: python-telegram-bot's requests over aiohttp.

python-telegram-bot sends its requests with httpx by default. Counted by callgrind against the
same local server, a request took 2.8 million instructions with httpx and 0.65 million with
aiohttp (its HTTP parser is C); a dialogue step makes three to four Bot API calls, and with this
client a step costs a third fewer instructions (bench/README.md, "Issue 25, the Bot API
client"). The interface is python-telegram-bot's `BaseRequest`: the same parameters, the same
errors (`TimedOut`, `NetworkError`), so nothing above it changes. TLS is verified against the
system's certificates (the image's ca-certificates).
"""

from __future__ import annotations

import json
import urllib.request
from typing import Any
from urllib.parse import urlsplit

import aiohttp
from telegram.error import NetworkError, TimedOut
from telegram.request import BaseRequest, RequestData

# python-telegram-bot's HTTPXRequest defaults, kept so that a slow Telegram is met alike
CONNECT_TIMEOUT = 5.0
READ_TIMEOUT = 5.0
WRITE_TIMEOUT = 5.0
POOL_TIMEOUT = 1.0
MEDIA_WRITE_TIMEOUT = 20.0

_JSON = {"Content-Type": "application/json"}


def _timeout(value: Any, default: float | None) -> float | None:
    """A per-call timeout: python-telegram-bot's DEFAULT_NONE means "this client's own"."""
    return default if isinstance(value, type(BaseRequest.DEFAULT_NONE)) else value


class AiohttpRequest(BaseRequest):
    """One aiohttp session with a pool of keep-alive connections to the Bot API server."""

    def __init__(
        self,
        connection_pool_size: int = 256,
        read_timeout: float | None = READ_TIMEOUT,
        connect_timeout: float | None = CONNECT_TIMEOUT,
        write_timeout: float | None = WRITE_TIMEOUT,
        pool_timeout: float | None = POOL_TIMEOUT,
        media_write_timeout: float | None = MEDIA_WRITE_TIMEOUT,
    ) -> None:
        self._pool_size = connection_pool_size
        self._read_timeout = read_timeout
        self._connect_timeout = connect_timeout
        self._write_timeout = write_timeout
        self._pool_timeout = pool_timeout
        self._media_write_timeout = media_write_timeout
        self._session: aiohttp.ClientSession | None = None
        # like httpx, HTTPS_PROXY, HTTP_PROXY and NO_PROXY from the environment are honoured;
        # read once here, as aiohttp's trust_env reads them (and ~/.netrc) on every request,
        # which cost as much as the rest of the request
        self._proxies = urllib.request.getproxies_environment()
        self._proxy_by_origin: dict[tuple[str, str], str | None] = {}

    def proxy_for(self, url: str) -> str | None:
        """The proxy the environment names for this URL's scheme, unless NO_PROXY exempts its
        host."""
        parts = urlsplit(url)
        origin = (parts.scheme, parts.hostname or "")
        if origin not in self._proxy_by_origin:
            proxy = self._proxies.get(parts.scheme)
            if proxy and urllib.request.proxy_bypass(origin[1]):
                proxy = None
            self._proxy_by_origin[origin] = proxy
        return self._proxy_by_origin[origin]

    @property
    def read_timeout(self) -> float | None:
        return self._read_timeout

    def _open_session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=self._pool_size),
                headers={"User-Agent": self.USER_AGENT},
            )
        return self._session

    async def initialize(self) -> None:
        self._open_session()

    async def shutdown(self) -> None:
        if self._session is not None and not self._session.closed:
            await self._session.close()
        self._session = None

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: Any = BaseRequest.DEFAULT_NONE,
        write_timeout: Any = BaseRequest.DEFAULT_NONE,
        connect_timeout: Any = BaseRequest.DEFAULT_NONE,
        pool_timeout: Any = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        files = request_data.multipart_data if request_data else None
        body: aiohttp.FormData | bytes | None = None
        headers = None
        if files:
            assert request_data is not None
            form = aiohttp.FormData(quote_fields=False)
            for name, value in request_data.json_parameters.items():
                form.add_field(name, value)
            for name, (filename, content, mimetype) in files.items():
                form.add_field(name, content, filename=filename, content_type=mimetype)
            body = form
        elif request_data is not None and request_data.parameters:
            # a JSON body, which the Bot API takes as well as a form: one json.dumps, where a
            # form encodes each field and then the whole (a fifth of a request's work)
            # (non-ASCII escaped: any text, even a lone surrogate, makes valid JSON)
            body = json.dumps(request_data.parameters).encode()
            headers = _JSON
        read = _timeout(read_timeout, self._read_timeout)
        write = _timeout(write_timeout, self._media_write_timeout if files else self._write_timeout)
        connect = _timeout(connect_timeout, self._connect_timeout)
        pool = _timeout(pool_timeout, self._pool_timeout)
        # aiohttp has no write timeout of its own: sending the body counts against the read
        # (sock_read runs from the last bytes sent or received); the pool's wait and the
        # connection's together bound getting a connection
        timeout = aiohttp.ClientTimeout(
            total=None,
            connect=None if pool is None or connect is None else pool + connect,
            sock_connect=connect,
            sock_read=None if read is None else read + ((write or 0.0) if files else 0.0),
        )
        try:
            async with self._open_session().request(
                method, url, data=body, headers=headers, timeout=timeout, proxy=self.proxy_for(url)
            ) as response:
                return response.status, await response.read()
        except TimeoutError as error:
            raise TimedOut from error
        except aiohttp.ClientError as error:
            # the class named, as python-telegram-bot does for httpx: the message may be empty
            raise NetworkError(f"aiohttp.{error.__class__.__name__}: {error}") from error
