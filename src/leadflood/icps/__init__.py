"""Ideal customer profiles and the runs that search providers for them."""
