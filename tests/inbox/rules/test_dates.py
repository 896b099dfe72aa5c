from __future__ import annotations

from datetime import date

import pytest

from leadflood.inbox.rules.dates import return_date

TODAY = date(2026, 12, 9)  # a Wednesday


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("I am back on 12 January.", date(2027, 1, 12)),
        ("I will return on January 12th, 2027.", date(2027, 1, 12)),
        ("Out of office until Jan 5", date(2027, 1, 5)),
        ("Ich bin zurück am 12.01.", date(2027, 1, 12)),
        ("Ich bin bis zum 18. Dezember im Urlaub.", date(2026, 12, 18)),
        ("bis 8. Januar abwesend, ab dem 11.01.2027 wieder im Büro", date(2027, 1, 11)),
        ("Je serai de retour le 12 janvier.", date(2027, 1, 12)),
        ("absente jusqu'au 1er février", date(2027, 2, 1)),
        ("Estaré de vuelta el 12 de enero.", date(2027, 1, 12)),
        ("de vacaciones hasta el 3 de marzo de 2027", date(2027, 3, 3)),
        ("Ik ben terug op 12 januari.", date(2027, 1, 12)),
        ("afwezig tot en met 15 december", date(2026, 12, 15)),
        ("Regresso a 12 de janeiro.", date(2027, 1, 12)),
        ("de férias até 20/01/2027", date(2027, 1, 20)),
        ("back on 2027-01-04", date(2027, 1, 4)),
        ("returning 1/15", date(2027, 1, 15)),  # month first: 15 cannot be a month
        ("back on Monday", date(2026, 12, 14)),
        ("de retour lundi", date(2026, 12, 14)),
        ("zurück am Mittwoch", date(2026, 12, 16)),  # the next one, not today
        ("I'll be back tomorrow", date(2026, 12, 10)),
        ("back on Monday, 11 January", date(2027, 1, 11)),  # the weekday only introduces it
        ("away 3 January to 12 January, back on 13 January", date(2027, 1, 13)),
        ("on holiday, see you 12 January", date(2027, 1, 12)),  # a named month, no keyword
    ],
)
def test_return_dates_in_six_languages(text, expected):
    found = return_date(text, TODAY)
    assert found is not None, text
    assert found.value == expected
    assert found.text


@pytest.mark.parametrize(
    "text",
    [
        "Call me on 555-12-34.",  # numbers with no return word are not dates
        "Version 10.5 is out",
        "Meeting at 12.30",
        "back on 31 February",  # no such day
        "I'll be back soon.",
        "",
    ],
)
def test_no_return_date(text):
    assert return_date(text, TODAY) is None


def test_a_date_without_a_year_is_the_next_one_with_a_week_of_grace():
    assert return_date("back on 5 December", TODAY).value == date(2026, 12, 5)
    assert return_date("back on 1 December", TODAY).value == date(2027, 12, 1)


def test_the_evidence_names_the_words_read():
    found = return_date("Thanks. I am back on 12 January with fresh energy.", TODAY)
    assert found is not None
    assert found.text == "back on 12 January"
