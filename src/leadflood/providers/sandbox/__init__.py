"""Offline, deterministic adapters: a synthetic prospect universe and simulated recipients."""

from leadflood.providers.sandbox.enricher import SLOW_SECONDS, SandboxEnricher
from leadflood.providers.sandbox.recipients import simulated_outcome
from leadflood.providers.sandbox.source import SandboxLeadSource, default_universe
from leadflood.providers.sandbox.universe import SandboxCompany, Universe
from leadflood.providers.sandbox.verifier import SandboxVerifier

__all__ = [
    "SLOW_SECONDS",
    "SandboxCompany",
    "SandboxEnricher",
    "SandboxLeadSource",
    "SandboxVerifier",
    "Universe",
    "default_universe",
    "simulated_outcome",
]
