"""Delivering one-time codes to people: a small, pluggable sender interface.

The platform sends short texts (a password-reset code) to a phone number or an e-mail address.
How depends on the deployment — an SMS gateway contracted by the province, an SMTP relay — so
the accounts service only knows :class:`Sender`. ``SKILLTRACE_NOTIFY_SENDER`` chooses one:

- ``console`` (the default, embedded): writes the message to the ``skilltrace.notify`` log
  (the address masked). For development and tests, and for a small deployment whose operator
  relays codes by hand; never a silent drop.
- ``package.module:factory``: a callable returning a :class:`Sender` (e.g. a gateway client
  configured from its own environment variables), imported once at first use.

Senders are called after the transaction that created the code commits
(:func:`app.aftercommit.after_commit`); one that raises is logged and the code simply does not
arrive (the person asks again), so a gateway outage never turns into a 500 or a lost change.
"""

from __future__ import annotations

import importlib
import logging
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal, Protocol, runtime_checkable

from app.config import get_settings

Channel = Literal["sms", "email"]

log = logging.getLogger("skilltrace.notify")


@dataclass(frozen=True)
class Message:
    channel: Channel
    to: str  # a normalised mainland mobile number, or an e-mail address
    text: str


@runtime_checkable
class Sender(Protocol):
    def send(self, message: Message) -> None:
        """Deliver the message or raise; called after commit, outside any transaction."""


def mask_address(channel: Channel, to: str) -> str:
    """``138****8000`` / ``z***@example.cn``: enough to recognise, not to reuse."""
    if channel == "sms":
        return f"{to[:3]}****{to[-4:]}" if len(to) >= 7 else "****"
    name, _, domain = to.partition("@")
    return f"{name[:1]}***@{domain}"


class ConsoleSender:
    """Writes each message to the ``skilltrace.notify`` log (address masked)."""

    def send(self, message: Message) -> None:
        log.warning(
            "%s to %s: %s", message.channel, mask_address(message.channel, message.to), message.text
        )


@lru_cache(maxsize=1)
def _configured(spec: str) -> Sender:
    if spec == "console":
        return ConsoleSender()
    module, _, attr = spec.partition(":")
    if not module or not attr:
        raise ValueError(
            f"SKILLTRACE_NOTIFY_SENDER: {spec!r} is neither 'console' nor 'module:factory'"
        )
    sender = getattr(importlib.import_module(module), attr)()
    if not isinstance(sender, Sender):
        raise TypeError(f"SKILLTRACE_NOTIFY_SENDER: {spec} did not return a sender (send(message))")
    return sender


def sender() -> Sender:
    """The configured sender (``SKILLTRACE_NOTIFY_SENDER``)."""
    return _configured(get_settings().notify_sender)


def deliver(message: Message) -> None:
    """Send now, logging (never raising) a sender's failure."""
    try:
        sender().send(message)
    except Exception:
        to = mask_address(message.channel, message.to)
        log.exception("could not send a %s message to %s", message.channel, to)
