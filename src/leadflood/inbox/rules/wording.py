"""Phrases per language, searched case-insensitively; a hit names its language and the words
it matched, for the evidence."""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Hit:
    language: str
    phrase: str
    start: int

    def describe(self) -> str:
        return f'"{self.phrase}" ({self.language})'


class Wording:
    def __init__(self, **by_language: str) -> None:
        self.patterns = [
            (language, re.compile(pattern, re.IGNORECASE | re.MULTILINE))
            for language, pattern in by_language.items()
        ]

    def search(self, text: str) -> Hit | None:
        """The earliest hit in the text, whichever language it is in."""
        best: Hit | None = None
        for language, pattern in self.patterns:
            match = pattern.search(text)
            if match and (best is None or match.start() < best.start):
                phrase = " ".join(match.group(0).split())[:60]
                best = Hit(language, phrase, match.start())
        return best
