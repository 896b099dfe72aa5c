"""The inbox: every inbound item (IMAP mail, provider webhooks, the sandbox's simulated answers)
stored raw first, then threaded to what we sent, understood by versioned rules, and acted on
(stop, pause, suppress) before the next step leaves."""
