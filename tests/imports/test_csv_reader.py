from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from leadflood.imports.csv_reader import (
    DELIMITERS,
    CsvFileError,
    EmptyCsvFile,
    detect_delimiter,
    open_csv,
    unique_headers,
)


def write(tmp_path: Path, data: bytes, name: str = "in.csv") -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def values(path: Path, **kwargs: str) -> list[dict[str, str]]:
    return [row.values for row in open_csv(path, **kwargs).rows()]


def test_a_header_with_nul_characters_is_refused_clearly(tmp_path: Path) -> None:
    with pytest.raises(CsvFileError, match="NUL characters"):
        open_csv(write(tmp_path, b"email,na\x00me\nada@example.com,Ada\n"))


def test_utf8_bom_is_not_part_of_the_first_header(tmp_path: Path) -> None:
    path = write(tmp_path, "\ufeffEmail,Name\r\na@x.com,Zoë\r\n".encode())
    source = open_csv(path)
    assert source.encoding == "utf-8-sig"
    assert source.headers == ["Email", "Name"]
    assert values(path) == [{"Email": "a@x.com", "Name": "Zoë"}]


def test_semicolon_delimiter_with_commas_in_values(tmp_path: Path) -> None:
    path = write(
        tmp_path, b"name;company;email\nDoe, Jane;Acme, Inc.;j@acme.com\nBo;B, Ltd;b@b.io\n"
    )
    source = open_csv(path)
    assert source.delimiter == ";"
    assert values(path)[0] == {"name": "Doe, Jane", "company": "Acme, Inc.", "email": "j@acme.com"}


@pytest.mark.parametrize("delimiter", ["\t", "|"])
def test_tab_and_pipe_delimiters(tmp_path: Path, delimiter: str) -> None:
    path = write(tmp_path, f"a{delimiter}b\n1{delimiter}2\n".encode())
    assert open_csv(path).delimiter == delimiter
    assert values(path) == [{"a": "1", "b": "2"}]


def test_quoted_newlines_and_crlf(tmp_path: Path) -> None:
    data = b'email,note\r\na@x.com,"line one\r\nline two"\r\nb@x.com,"x\ny"\r\n'
    path = write(tmp_path, data)
    rows = list(open_csv(path).rows())
    assert [r.values["note"] for r in rows] == ["line one\r\nline two", "x\ny"]
    assert [(r.number, r.line) for r in rows] == [(1, 2), (2, 4)]


def test_latin1_file_falls_back_to_cp1252(tmp_path: Path) -> None:
    path = write(tmp_path, "name,city\nMüller,Köln\n".encode("latin-1"))
    source = open_csv(path)
    assert source.encoding == "cp1252"
    assert values(path) == [{"name": "Müller", "city": "Köln"}]


def test_latin1_bytes_after_the_sample_do_not_crash_a_utf8_file(tmp_path: Path) -> None:
    head = b"name,email\n" + b"Zo\xc3\xab,z@x.com\n" * 10_000  # valid UTF-8, > sample size
    tail = "Müller,m@x.com\n".encode("latin-1") + b"caf\xe9\n\x81,u@x.com\n"
    path = write(tmp_path, head + tail)
    source = open_csv(path)
    assert source.encoding == "utf-8"
    rows = list(source.rows())
    assert source.rows_read == 10_003
    assert rows[0].values["name"] == "Zoë"
    assert rows[-3].values["name"] == "Müller"
    assert rows[-2].values["name"] == "café"
    assert rows[-1].values["name"] == "\x81"  # undefined in cp1252: kept as its Latin-1 char


def test_excel_unicode_text_export(tmp_path: Path) -> None:
    path = write(tmp_path, "Email\tName\r\na@x.com\tZoë\r\n".encode("utf-16"))
    source = open_csv(path)
    assert (source.encoding, source.delimiter) == ("utf-16", "\t")
    assert values(path) == [{"Email": "a@x.com", "Name": "Zoë"}]


def test_ragged_rows_are_flagged_not_raised(tmp_path: Path) -> None:
    path = write(tmp_path, b"a,b,c\n1,2\n1,2,3,4\n1,2,3\n")
    source = open_csv(path)
    rows = list(source.rows())
    assert [r.problem.code if r.problem else None for r in rows] == [
        "ragged_row",
        "ragged_row",
        None,
    ]
    assert rows[0].values == {"a": "1", "b": "2", "c": ""}
    assert rows[1].fields == ("1", "2", "3", "4")
    assert source.rows_read == 3


def test_blank_lines_are_skipped_and_counted(tmp_path: Path) -> None:
    path = write(tmp_path, b"\n\na,b\n\n1,2\n,\n  ,\n3,4\n\n")
    source = open_csv(path)
    assert source.headers == ["a", "b"]
    rows = list(source.rows())
    assert [r.values for r in rows] == [{"a": "1", "b": "2"}, {"a": "3", "b": "4"}]
    assert (source.rows_read, source.blank_rows) == (2, 4)


def test_header_only_file(tmp_path: Path) -> None:
    source = open_csv(write(tmp_path, b"email,first_name\r\n"))
    assert source.headers == ["email", "first_name"]
    assert list(source.rows()) == []
    assert source.rows_read == 0


def test_empty_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(EmptyCsvFile) as err:
        open_csv(write(tmp_path, b"\r\n\r\n"))
    assert err.value.code == "empty_csv"


def test_headers_are_made_unique_and_named() -> None:
    assert unique_headers([" Email ", "", "email", "Email"]) == [
        "Email",
        "column_2",
        "email (2)",
        "Email (3)",
    ]


def test_sample_does_not_disturb_iteration(tmp_path: Path) -> None:
    path = write(tmp_path, b"a\n" + b"".join(f"{i}\n".encode() for i in range(50)))
    source = open_csv(path)
    rows = source.rows()
    first = next(rows)
    assert [r.values["a"] for r in source.sample(3)] == ["0", "1", "2"]
    assert first.values["a"] == "0"
    assert next(rows).values["a"] == "1"


def test_a_field_over_the_csv_limit_is_one_malformed_row(tmp_path: Path) -> None:
    huge = b'"' + b"x" * (csv.field_size_limit() + 10) + b'"'
    path = write(tmp_path, b"a,b\n1,2\n" + huge + b",3\n4,5\n")
    rows = list(open_csv(path).rows())
    assert rows[1].problem is not None and rows[1].problem.code == "malformed_row"
    assert rows[-1].values == {"a": "4", "b": "5"}


def test_single_column_file_falls_back_to_comma() -> None:
    assert detect_delimiter("email\na@x.com\nb@x.com\n", complete=True) == ","


header_names = st.lists(
    st.text(alphabet="abcdefghijklmnopqrstuvwxyz_ 0123456789", min_size=1, max_size=12)
    .map(str.strip)
    .filter(bool),
    min_size=2,
    max_size=6,
    unique_by=str.casefold,
)
# csv.writer leaves a lone "\r" unquoted when the line terminator is "\n", which no reader can
# tell from a line break; a "\n" in the same field makes the writer quote it.
cell = st.text(
    alphabet=st.characters(exclude_categories=["Cs"], exclude_characters="\x00"), max_size=20
).map(lambda v: v + "\n" if "\r" in v and "\n" not in v else v)


def rows_for(width: int, forbidden: str = "") -> st.SearchStrategy[list[list[str]]]:
    text = cell.filter(lambda v: not any(ch in v for ch in forbidden)) if forbidden else cell
    return st.lists(st.lists(text, min_size=width, max_size=width), max_size=30)


def write_csv(rows: list[list[str]], delimiter: str, terminator: str, bom: bool) -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer, delimiter=delimiter, lineterminator=terminator).writerows(rows)
    return ("\ufeff" if bom else "").encode() + buffer.getvalue().encode()


def expected(rows: list[list[str]]) -> list[list[str]]:
    return [r for r in rows if any(v.strip() for v in r)]


@settings(max_examples=150, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    data=st.data(),
    headers=header_names,
    delimiter=st.sampled_from(DELIMITERS),
    terminator=st.sampled_from(["\n", "\r\n"]),
    bom=st.booleans(),
)
def test_detected_dialect_reads_back_exactly_what_csv_writer_wrote(
    tmp_path: Path,
    data: st.DataObject,
    headers: list[str],
    delimiter: str,
    terminator: str,
    bom: bool,
) -> None:
    rows = data.draw(rows_for(len(headers), forbidden="".join(DELIMITERS)))
    path = write(tmp_path, write_csv([headers, *rows], delimiter, terminator, bom))
    source = open_csv(path)
    assert source.delimiter == delimiter
    read = [list(r.values.values()) for r in source.rows()]
    assert read == expected(rows)
    assert source.rows_read == len(expected(rows))
    assert source.blank_rows == len(rows) - len(expected(rows))


@settings(max_examples=150, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    data=st.data(),
    headers=header_names,
    delimiter=st.sampled_from(DELIMITERS),
    terminator=st.sampled_from(["\n", "\r\n"]),
)
def test_any_content_round_trips_with_a_given_delimiter(
    tmp_path: Path, data: st.DataObject, headers: list[str], delimiter: str, terminator: str
) -> None:
    rows = data.draw(rows_for(len(headers)))
    path = write(tmp_path, write_csv([headers, *rows], delimiter, terminator, bom=False))
    source = open_csv(path, delimiter=delimiter)
    read = [(r.problem, list(r.values.values())) for r in source.rows()]
    assert read == [(None, r) for r in expected(rows)]
