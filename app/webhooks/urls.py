"""Where a webhook may be sent: URL rules and the address check against request forgery (SSRF).

A partner chooses the URL, and the server makes the request: without a check, a URL could make
the server POST to its own loopback, a database on the private network or a cloud metadata
address. So, unless ``webhook_allow_private`` is on (development, tests):

- only ``https://`` URLs, without user name or password;
- every address the host name resolves to must be a public (global unicast) address; one
  private answer among public ones refuses the URL (a round-robin trick);
- the check runs when subscribing AND before every attempt (DNS can change in between), and the
  attempt connects to the very address that was checked (:class:`Target`), with the host name
  kept for TLS (SNI and certificate check) and the ``Host`` header, so a second, different DNS
  answer between check and connect (DNS rebinding) cannot redirect it.
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

from app.webhooks.exceptions import InvalidWebhookUrl, WebhookUrlRefused

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


@dataclass(frozen=True)
class Target:
    """A checked URL and, when addresses are checked, the address to connect to."""

    url: str
    host: str
    port: int
    #: The vetted address to connect to; ``None`` when private addresses are allowed (the
    #: client resolves the host itself).
    address: str | None = None


def check_syntax(url: str, *, allow_private: bool) -> tuple[str, int]:
    """The URL's host and port, or :class:`InvalidWebhookUrl`."""
    if any(c.isspace() or ord(c) < 0x20 or ord(c) == 0x7F for c in url):
        raise InvalidWebhookUrl("The webhook URL contains whitespace or control characters.")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise InvalidWebhookUrl(f"The webhook URL is not valid: {exc}.") from None
    schemes = ("https", "http") if allow_private else ("https",)
    if parts.scheme not in schemes:
        raise InvalidWebhookUrl("The webhook URL must start with https://.")
    if not parts.hostname:
        raise InvalidWebhookUrl("The webhook URL has no host.")
    if parts.username is not None or parts.password is not None:
        raise InvalidWebhookUrl("The webhook URL must not contain a user name or password.")
    if parts.fragment:
        raise InvalidWebhookUrl("The webhook URL must not contain a #fragment.")
    host = parts.hostname
    try:
        host.encode("idna")
    except UnicodeError:
        raise InvalidWebhookUrl("The webhook URL's host name is not valid.") from None
    return host, port or (443 if parts.scheme == "https" else 80)


def is_public(address: IPAddress) -> bool:
    """A global unicast address: not private, loopback, link-local, shared, reserved, multicast.

    IPv4 addresses embedded in IPv6 (mapped ``::ffff:a.b.c.d``, 6to4, Teredo) are judged by the
    IPv4 address they lead to.
    """
    if isinstance(address, ipaddress.IPv6Address):
        embedded: list[ipaddress.IPv4Address] = []
        if address.ipv4_mapped is not None:
            embedded.append(address.ipv4_mapped)
        if address.sixtofour is not None:
            embedded.append(address.sixtofour)
        if address.teredo is not None:
            embedded.extend(address.teredo)
        if any(not is_public(a) for a in embedded):
            return False
    return address.is_global and not address.is_multicast


def _resolve(host: str, port: int) -> list[IPAddress]:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        return []
    out: list[IPAddress] = []
    for info in infos:
        raw = str(info[4][0]).split("%", 1)[0]  # drop an IPv6 zone id
        try:
            out.append(ipaddress.ip_address(raw))
        except ValueError:
            continue
    return out


def check(url: str, *, allow_private: bool) -> Target:
    """Check the URL and the addresses its host resolves to now; raise if it may not be used."""
    host, port = check_syntax(url, allow_private=allow_private)
    if allow_private:
        return Target(url=url, host=host, port=port)
    addresses = _resolve(host, port)
    if not addresses:
        raise WebhookUrlRefused(f"The webhook host {host!r} does not resolve.")
    refused = sorted({str(a) for a in addresses if not is_public(a)})
    if refused:
        raise WebhookUrlRefused(
            f"The webhook host {host!r} resolves to non-public addresses {refused}."
        )
    return Target(url=url, host=host, port=port, address=str(addresses[0]))
