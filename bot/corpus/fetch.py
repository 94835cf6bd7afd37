"""Fetching a web page for the corpus: public addresses only, bounded in size and time.

Every address a URL or its redirects resolve to is checked before connecting (loopback, private
and link-local networks are refused unless the settings allow them), so `add_article.py URL`
cannot be turned against the machine's own network.
"""

from __future__ import annotations

import ipaddress
import socket
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from bot.corpus.articles import MAX_ARTICLE_BYTES
from bot.errors import ArticleError, ReportBotError

if TYPE_CHECKING:
    from bot.settings import Settings

USER_AGENT = "report-bot/0.1 (add_article)"


class BlockedAddress(ReportBotError):
    """A URL (or a redirect) leads to a loopback, private or link-local address."""

    hint = (
        "only public addresses are fetched; set FETCH_ALLOW_PRIVATE=true, or list the network in "
        "FETCH_PRIVATE_NETWORKS, to fetch from this one"
    )


@dataclass(frozen=True)
class FetchPolicy:
    """What a URL fetch may do: how long it may take and which addresses it may connect to."""

    #: Longest wait for any one read (connect, a chunk of headers or body).
    timeout: float = 30.0
    #: Longest whole fetch, redirects included, however slowly the server sends.
    deadline: float = 120.0
    #: Loopback, private, link-local and other non-public addresses allowed.
    allow_private: bool = False
    #: Non-public networks allowed anyway.
    private_networks: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...] = ()

    @classmethod
    def from_settings(cls, settings: Settings) -> FetchPolicy:
        """FETCH_TIMEOUT_SECONDS, FETCH_DEADLINE_SECONDS, FETCH_ALLOW_PRIVATE, FETCH_PRIVATE_NETWORKS."""
        return cls(
            timeout=settings.fetch_timeout_seconds,
            deadline=settings.fetch_deadline_seconds,
            allow_private=settings.fetch_allow_private,
            private_networks=tuple(settings.fetch_private_networks),
        )

    def allows(self, address: str) -> bool:
        """Whether a resolved address may be connected to."""
        ip: ipaddress.IPv4Address | ipaddress.IPv6Address = ipaddress.ip_address(address.split("%", 1)[0])
        if isinstance(ip, ipaddress.IPv6Address):
            ip = _embedded_ipv4(ip) or ip
        if ip.is_global and not ip.is_multicast:
            return True
        return self.allow_private or any(ip in net for net in self.private_networks if net.version == ip.version)


_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_IPV4_COMPATIBLE = ipaddress.ip_network("::/96")


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 one carries (mapped, 6to4, NAT64, IPv4-compatible): it is where it leads."""
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip in _NAT64 or (ip in _IPV4_COMPATIBLE and int(ip) > 1):
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def _guarded_backend(policy: FetchPolicy) -> Any:
    """An httpcore network backend that resolves each host itself and connects only to allowed addresses.

    Checking at connect time covers every hop of a redirect chain and leaves no gap between the
    check and the connection (a DNS answer that changes in between cannot slip an internal address
    through): the socket goes to the very address that was checked. TLS still verifies the host name.
    """
    import httpcore

    class GuardedBackend(httpcore.SyncBackend):
        def connect_tcp(
            self,
            host: str,
            port: int,
            timeout: float | None = None,
            local_address: str | None = None,
            socket_options: Iterable[Any] | None = None,
        ) -> httpcore.NetworkStream:
            try:
                infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
            except OSError as exc:
                raise httpcore.ConnectError(f"cannot resolve {host}: {exc.strerror or exc}") from exc
            addresses = list(dict.fromkeys(str(info[4][0]) for info in infos))
            refused = [a for a in addresses if not policy.allows(a)]
            if refused or not addresses:
                shown = ", ".join(refused or addresses)
                raise BlockedAddress(f"{host} is {shown}, not a public address")
            for address in addresses[:-1]:  # as socket.create_connection does: each address in turn
                try:
                    return super().connect_tcp(address, port, timeout, local_address, socket_options)
                except (httpcore.ConnectError, httpcore.ConnectTimeout):
                    continue
            return super().connect_tcp(addresses[-1], port, timeout, local_address, socket_options)

    return GuardedBackend()


def _download(url: str, policy: FetchPolicy, abandon: threading.Event) -> tuple[bytes, str, str]:
    """The page's bytes, final URL and content type; raises `ArticleError` or `ReportBotError`."""
    import httpx

    transport = httpx.HTTPTransport(retries=0, trust_env=False)
    transport._pool._network_backend = _guarded_backend(policy)
    try:
        with (
            httpx.Client(
                transport=transport,
                follow_redirects=True,
                max_redirects=10,
                timeout=policy.timeout,
                trust_env=False,  # an environment proxy would hide where we connect
                headers={"User-Agent": USER_AGENT},
            ) as client,
            client.stream("GET", url) as response,
        ):
            if response.status_code >= 400:
                raise ArticleError(f"{url}: the server answered {response.status_code} {response.reason_phrase}")
            chunks: list[bytes] = []
            size = 0
            for chunk in response.iter_bytes():
                if abandon.is_set():
                    raise ArticleError(f"{url}: abandoned")
                size += len(chunk)
                if size > MAX_ARTICLE_BYTES:
                    raise ArticleError(f"{url}: page is over the {MAX_ARTICLE_BYTES // 2**20} MiB limit")
                chunks.append(chunk)
            final_url = str(response.url)
            content_type = response.headers.get("content-type", "").split(";")[0].strip().lower()
    except BlockedAddress as exc:
        raise BlockedAddress(f"refusing to fetch {url}: {exc}") from None
    except httpx.HTTPError as exc:
        raise ReportBotError(
            f"cannot fetch {url}: {str(exc) or type(exc).__name__}", hint="check the address and the network"
        ) from exc
    except (httpx.InvalidURL, UnicodeError) as exc:  # also a redirect's Location
        raise ReportBotError(
            f"cannot fetch {url}: not a valid web address ({str(exc)[:120] or type(exc).__name__})",
            hint="check the address",
        ) from exc
    return b"".join(chunks), final_url, content_type


def fetch(url: str, policy: FetchPolicy | None = None) -> tuple[bytes, str, str]:
    """Download `url` within `policy.deadline` seconds overall: bytes, final URL, content type.

    httpx's timeout bounds each read, so a server sending a byte every few seconds could hold a
    fetch for ever; the download runs in a worker thread that is abandoned at the deadline (it
    stops at its next chunk, or at its next read timeout).
    """
    policy = policy or FetchPolicy()
    outcome: list[tuple[bytes, str, str] | BaseException] = []
    abandon = threading.Event()

    def work() -> None:
        try:
            outcome.append(_download(url, policy, abandon))
        except BaseException as exc:  # handed to the waiting thread
            outcome.append(exc)

    worker = threading.Thread(target=work, name="fetch", daemon=True)
    worker.start()
    worker.join(policy.deadline)
    if worker.is_alive():
        abandon.set()
        raise ReportBotError(
            f"cannot fetch {url}: no complete answer within {policy.deadline:g} s (FETCH_DEADLINE_SECONDS)",
            hint="try again later, or save the page and add the file",
        )
    if isinstance(outcome[0], BaseException):
        raise outcome[0]
    return outcome[0]
