"""Delivering one-time codes to people: a small, pluggable sender interface.

The platform sends short texts (a password-reset code) to a phone number or an e-mail address.
How depends on the deployment — an SMS gateway contracted by the province, an SMTP relay — so
the accounts service only knows :class:`Sender`. ``SKILLTRACE_NOTIFY_SENDER`` chooses the one
for text messages, ``SKILLTRACE_EMAIL_SENDER`` the one for e-mail:

- ``console`` (the default, embedded): writes the message to the ``skilltrace.notify`` log
  (the address masked). For development and tests, and for a small deployment whose operator
  relays codes by hand; never a silent drop.
- ``smtp`` (e-mail only): :class:`SmtpSender`, the standard library's ``smtplib`` through the
  relay the ``SKILLTRACE_SMTP_*`` settings name (STARTTLS, implicit TLS or none; optional login).
- ``package.module:factory``: a callable returning a :class:`Sender` (e.g. a gateway client
  configured from its own environment variables), imported once at first use.

Senders are called after the transaction that created the code commits
(:func:`app.aftercommit.after_commit`); one that raises is logged and the code simply does not
arrive (the person asks again), so a gateway outage never turns into a 500 or a lost change.
"""

from __future__ import annotations

import importlib
import logging
import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
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


class SmtpSender:
    """E-mail through an SMTP relay (``SKILLTRACE_SMTP_*``): one connection per message (codes
    are rare), TLS as configured, a plain-text UTF-8 message with the platform's subject."""

    SUBJECT = "技能培训学习平台验证码"

    def send(self, message: Message) -> None:
        if message.channel != "email":
            raise ValueError("the SMTP sender delivers e-mail only")
        s = get_settings()
        mail = EmailMessage()
        mail["From"] = s.smtp_from
        mail["To"] = message.to
        mail["Subject"] = self.SUBJECT
        mail["Date"] = formatdate(localtime=True)
        mail["Message-ID"] = make_msgid(domain=s.smtp_from.rpartition("@")[2].strip("> ") or None)
        mail.set_content(message.text)
        context = ssl.create_default_context()
        smtp: smtplib.SMTP
        if s.smtp_security == "ssl":
            smtp = smtplib.SMTP_SSL(
                s.smtp_host, s.smtp_port, timeout=s.smtp_timeout_s, context=context
            )
        else:
            smtp = smtplib.SMTP(s.smtp_host, s.smtp_port, timeout=s.smtp_timeout_s)
        with smtp:
            if s.smtp_security == "starttls":
                smtp.starttls(context=context)
            if s.smtp_username:
                smtp.login(s.smtp_username, s.smtp_password)
            smtp.send_message(mail)


@lru_cache(maxsize=4)
def _configured(spec: str) -> Sender:
    if spec == "console":
        return ConsoleSender()
    if spec == "smtp":
        return SmtpSender()
    module, _, attr = spec.partition(":")
    if not module or not attr:
        raise ValueError(
            f"SKILLTRACE_NOTIFY_SENDER: {spec!r} is neither 'console' nor 'module:factory'"
        )
    sender = getattr(importlib.import_module(module), attr)()
    if not isinstance(sender, Sender):
        raise TypeError(f"SKILLTRACE_NOTIFY_SENDER: {spec} did not return a sender (send(message))")
    return sender


def sender(channel: Channel = "sms") -> Sender:
    """The configured sender of a channel (``SKILLTRACE_NOTIFY_SENDER`` for text messages,
    ``SKILLTRACE_EMAIL_SENDER`` for e-mail)."""
    s = get_settings()
    return _configured(s.email_sender if channel == "email" else s.notify_sender)


def deliver(message: Message) -> None:
    """Send now, logging (never raising) a sender's failure."""
    try:
        sender(message.channel).send(message)
    except Exception:
        to = mask_address(message.channel, message.to)
        log.exception("could not send a %s message to %s", message.channel, to)
