"""Typer sub-commands by domain; `leadflood.cli` assembles them."""
