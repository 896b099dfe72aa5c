"""What a simulated recipient does with a message sent through the sandbox.

`simulated_outcome(email)` is the same for the same address (case and surrounding spaces do not
matter), so a demo or a test can rely on it:

1. the local part contains "bounce" -> "bounce"  (the server rejects it: a hard bounce)
2. the local part contains "reply"  -> "reply"   (delivered, and the recipient answers)
3. the local part contains "silent" -> "silent"  (delivered, nothing ever happens)
4. otherwise a hash of the address decides: 3% "bounce", 8% "reply", 40% "deliver" (delivered
   and opened, no answer), the remaining 49% "silent".
"""

from __future__ import annotations

from leadflood.providers.sandbox.names import stable_int

OUTCOMES = ("deliver", "bounce", "reply", "silent")
BOUNCE_PER_MILLE = 30
REPLY_PER_MILLE = 80
DELIVER_PER_MILLE = 400


def simulated_outcome(email: str) -> str:
    address = email.strip().lower()
    local = address.rpartition("@")[0] or address
    for word in ("bounce", "reply", "silent"):
        if word in local:
            return word
    roll = stable_int("sandbox-recipient", address) % 1000
    if roll < BOUNCE_PER_MILLE:
        return "bounce"
    if roll < BOUNCE_PER_MILLE + REPLY_PER_MILLE:
        return "reply"
    if roll < BOUNCE_PER_MILLE + REPLY_PER_MILLE + DELIVER_PER_MILLE:
        return "deliver"
    return "silent"
