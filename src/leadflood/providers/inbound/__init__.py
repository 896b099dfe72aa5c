"""Inbound transports: reading replies from where they arrive."""
