"""The return date in an out-of-office text, in English, German, French, Spanish, Dutch and
Portuguese: "back on 12 January", "zurück am 12.01.", "de retour le 12 janvier",
"de vuelta el 12 de enero", "terug op 12 januari", "regresso a 12 de janeiro", ISO and numeric
dates (day first unless the numbers say otherwise), weekdays and "tomorrow".

Every date found is scored by the words around it: a return word ("back", "zurück", "retour",
…) beats an until word ("until", "bis", "jusqu'au", …), which beats a from word ("ab",
"vanaf", "a partir de"); a named month with no such word scores lowest, and a bare number or
weekday with no such word is not taken at all. The best score wins, the later date on a tie.
A date without a year is the next such date on or after `today` (a week of grace for a reply
that arrives just after the day it names)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta

# English names first, then "|", then the other languages' names and abbreviations.
MONTHS: dict[str, int] = {}
EN_MONTHS: dict[str, int] = {}
for _month, _names in enumerate(
    (
        "january jan | januar jänner janvier janv enero ene januari janeiro",
        "february feb | februar février fevrier févr fevr febrero februari fevereiro fev",
        "march mar | märz maerz mär mars marzo maart mrt março marco",
        "april apr | avril avr abril abr",
        "may | mai mayo mei maio",
        "june jun | juni juin junio junho",
        "july jul | juli juillet juil julio julho",
        "august aug | août aout agosto ago augustus",
        "september sep sept | septembre septiembre setiembre setembro set",
        "october oct | oktober okt octobre octubre outubro out",
        "november nov | novembre noviembre novembro",
        "december dec | dezember dez décembre decembre déc diciembre dic dezembro",
    ),
    start=1,
):
    _english, _others = _names.split("|")
    for _name in _english.split():
        MONTHS[_name] = EN_MONTHS[_name] = _month
    for _name in _others.split():
        MONTHS[_name] = _month

WEEKDAYS: dict[str, int] = {}
for _day, _names in enumerate(
    (
        "monday montag lundi lunes maandag segunda-feira segunda",
        "tuesday dienstag mardi martes dinsdag terça-feira terça terca-feira terca",
        "wednesday mittwoch mercredi miércoles miercoles woensdag quarta-feira quarta",
        "thursday donnerstag jeudi jueves donderdag quinta-feira quinta",
        "friday freitag vendredi viernes vrijdag sexta-feira sexta",
        "saturday samstag sonnabend samedi sábado sabado zaterdag",
        "sunday sonntag dimanche domingo zondag",
    )
):
    for _name in _names.split():
        WEEKDAYS[_name] = _day

TOMORROW = ("tomorrow", "morgen", "demain", "mañana", "manana", "amanhã", "amanha")


def _alternation(names: object) -> str:
    return "|".join(re.escape(name) for name in sorted(names, key=len, reverse=True))  # type: ignore[call-overload]


_DAY = r"(?P<d>[0-3]?\d)(?:st|nd|rd|th|er|e|º|°|ª|\.)?"
_YEAR = r"(?:[\s,]+(?:de\s+|of\s+)?(?P<y>(?:19|20)\d\d))?(?!\d)"
DAY_MONTH = re.compile(
    rf"(?<!\d){_DAY}\s*(?:de\s+|of\s+)?(?P<m>{_alternation(MONTHS)})(?![\w-])\.?{_YEAR}",
    re.IGNORECASE,
)
MONTH_DAY = re.compile(
    rf"\b(?P<m>{_alternation(EN_MONTHS)})\.?\s+(?P<d>[0-3]?\d)(?:st|nd|rd|th)?(?!\d){_YEAR}",
    re.IGNORECASE,
)
ISO = re.compile(r"(?<!\d)(?P<y>20\d\d)-(?P<m>[01]?\d)-(?P<d>[0-3]?\d)(?!\d)")
NUMERIC = re.compile(
    r"(?<![\d.:/-])(?P<d>[0-3]?\d)[./-](?P<m>[01]?\d)(?:[./-](?P<y>(?:20)?\d\d))?(?![\d:/-])"
)
WEEKDAY = re.compile(rf"\b(?P<w>{_alternation(WEEKDAYS)})\b", re.IGNORECASE)
RELATIVE = re.compile(rf"\b(?P<r>{_alternation(TOMORROW)})\b", re.IGNORECASE)

RETURN_WORDS = re.compile(
    r"\b(?:back|return(?:s|ing)?|zurück|zurueck|wieder|retour|rentre|de vuelta|regres\w*|"
    r"vuelvo|volver[ée]|terug|volta|volto|voltarei|retorno|retornarei|reachable again|"
    r"available again|erreichbar)\b",
    re.IGNORECASE,
)
UNTIL_WORDS = re.compile(
    r"(?:\b(?:until|till|til|through|thru|bis|hasta|tot|até|t/m)\b|jusqu'?\s*(?:au|à))",
    re.IGNORECASE,
)
FROM_WORDS = re.compile(r"\b(?:ab|vanaf|à partir du|a partir del?|a partir de|dès le)\b", re.I)


@dataclass(frozen=True)
class ReturnDate:
    value: date
    # The words the date was read from, for the evidence.
    text: str


@dataclass(frozen=True)
class _Found:
    start: int
    end: int
    value: date
    named: bool  # a month or weekday written as a word: safer than bare numbers


def return_date(text: str, today: date) -> ReturnDate | None:
    found = _dates(text, today)
    best: tuple[int, int, _Found, str] | None = None
    previous_end = 0
    for index, item in enumerate(found):
        before_start = max(previous_end, item.start - 50)
        before = text[before_start : item.start]
        next_start = found[index + 1].start if index + 1 < len(found) else len(text)
        after = text[item.end : min(next_start, item.end + 30)]
        score, word_at = _score(before, after)
        previous_end = item.end
        if score == 0 and not item.named:
            continue
        if word_at is None:
            word = RETURN_WORDS.search(after)
            stop = item.end + (word.end() if word else 0)
            phrase = " ".join(text[item.start : stop].split())
        else:
            phrase = " ".join(text[before_start + word_at : item.end].split())
        if best is None or (score, item.start) >= (best[0], best[1]):
            best = (score, item.start, item, phrase)
    if best is None:
        return None
    return ReturnDate(best[2].value, best[3][:80])


def _score(before: str, after: str) -> tuple[int, int | None]:
    """The date's score and where its word starts in `before` (None: the word follows, as
    in "ab dem 11.01. wieder im Büro")."""
    if RETURN_WORDS.search(after):
        return 3, None
    for score, words in ((3, RETURN_WORDS), (2, UNTIL_WORDS), (1, FROM_WORDS)):
        matches = list(words.finditer(before))
        if matches:
            return score, matches[-1].start()
    return 0, None


def _dates(text: str, today: date) -> list[_Found]:
    candidates: list[tuple[int, _Found]] = []  # (priority, found); lower priority wins overlaps
    for priority, pattern in enumerate((ISO, DAY_MONTH, MONTH_DAY, NUMERIC)):
        for match in pattern.finditer(text):
            month_text = match.group("m")
            month = MONTHS.get(month_text.lower()) if not month_text.isdigit() else int(month_text)
            day = int(match.group("d"))
            if month is None:
                continue
            if pattern is NUMERIC and month > 12 and day <= 12:  # month first, as in the US
                day, month = month, day
            value = _resolve(day, month, match.group("y"), today)
            if value is not None:
                named = pattern in (DAY_MONTH, MONTH_DAY)
                candidates.append((priority, _Found(match.start(), match.end(), value, named)))
    for match in WEEKDAY.finditer(text):
        ahead = (WEEKDAYS[match.group("w").lower()] - today.weekday() - 1) % 7 + 1
        candidates.append((4, _Found(match.start(), match.end(), today + timedelta(ahead), True)))
    for match in RELATIVE.finditer(text):
        candidates.append((5, _Found(match.start(), match.end(), today + timedelta(1), True)))

    kept: list[_Found] = []
    for _, item in sorted(candidates, key=lambda c: (c[0], c[1].start)):
        if all(item.end <= other.start or item.start >= other.end for other in kept):
            kept.append(item)
    kept.sort(key=lambda item: item.start)
    # "Monday, 12 January": the weekday only introduces the date that follows it.
    return [
        item
        for index, item in enumerate(kept)
        if not (
            index + 1 < len(kept)
            and kept[index + 1].start - item.end <= 3
            and _is_weekday(text[item.start : item.end])
        )
    ]


def _is_weekday(word: str) -> bool:
    return word.lower() in WEEKDAYS


def _resolve(day: int, month: int, year_text: str | None, today: date) -> date | None:
    try:
        if year_text:
            year = int(year_text)
            year = year + 2000 if year < 100 else year
            value = date(year, month, day)
        else:
            value = date(today.year, month, day)
            if value < today - timedelta(days=7):
                value = date(today.year + 1, month, day)
    except ValueError:
        return None
    if not today - timedelta(days=366) <= value <= today + timedelta(days=2 * 366):
        return None
    return value
