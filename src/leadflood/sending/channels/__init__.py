"""One `Channel` per channel; the engine looks a message's up by `messages.channel` (a sender
account's by `mailboxes.channel`). A new channel is one module here plus its providers."""

from __future__ import annotations

from leadflood.errors import InvalidInput
from leadflood.sending.channels.base import Channel, Outbound, Reconciler, Transports
from leadflood.sending.channels.email import EMAIL

CHANNELS: dict[str, Channel] = {EMAIL.name: EMAIL}


class UnknownChannel(InvalidInput):
    code = "unknown_channel"
    message = "Lead Flood cannot send on this channel."


def channel_of(name: str) -> Channel:
    try:
        return CHANNELS[name]
    except KeyError:
        raise UnknownChannel(details={"channel": name, "known": sorted(CHANNELS)}) from None


__all__ = [
    "CHANNELS", "Channel", "Outbound", "Reconciler", "Transports", "UnknownChannel", "channel_of",
]  # fmt: skip
