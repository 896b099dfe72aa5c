from __future__ import annotations

import subprocess
import sys

import phonenumbers
from phonenumbers import geocoder

from leadflood.leads.countries import COUNTRY_NAMES, country_code


def test_the_table_names_every_region_as_the_geocoder_does() -> None:
    assert set(COUNTRY_NAMES) == set(phonenumbers.SUPPORTED_REGIONS)
    for region, entry in COUNTRY_NAMES.items():
        example = phonenumbers.example_number(region)
        expected = geocoder.country_name_for_number(example, "en") if example else ""
        assert entry.split("|")[0] == expected, region
        if expected:
            assert country_code(expected) == region
            assert country_code(expected.upper()) == region


def test_codes_names_and_aliases() -> None:
    assert country_code("de") == country_code("Germany") == country_code("Deutschland") == "DE"
    assert country_code("England") == country_code("u.k.") == "GB"
    assert country_code("Åland Islands") == "AX"
    assert country_code("XK") == "XK"
    assert country_code("Kosovo") is None
    assert country_code("  ") is None


def test_country_lookup_does_not_load_the_geocoder() -> None:
    code = (
        "import sys; from leadflood.leads import countries; "
        "from leadflood.imports import validation; "
        "assert countries.country_code('France') == 'FR'; "
        "assert 'phonenumbers.geodata' not in sys.modules, 'geocoder loaded'"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
