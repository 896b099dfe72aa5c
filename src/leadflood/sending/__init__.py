"""Delivery: suppression, unsubscribe, mailboxes, capacity and the engine that sends queued
messages. `sequences` builds on this package, never the other way round."""
