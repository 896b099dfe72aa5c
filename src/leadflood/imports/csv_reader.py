"""Streaming reader for uploaded CSV files: one row in memory at a time, whatever the file size.

Encoding and delimiter are decided from a sample of the first bytes. A byte sequence that is not
valid in the chosen encoding never stops an import: it is decoded as cp1252 (or Latin-1 for the
five bytes cp1252 leaves undefined), so a UTF-8 file with a few Latin-1 rows still reads.
"""

from __future__ import annotations

import codecs
import csv
import io
from collections.abc import Generator, Iterator
from contextlib import closing
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path

from leadflood.errors import InvalidInput

SAMPLE_BYTES = 64 * 1024
DELIMITERS = (",", ";", "\t", "|")
LEGACY_ERRORS = "leadflood-legacy"
# Past this share of NUL bytes in the sample (and this many), the file is binary, not text with a
# few stray NULs (whose rows are then rejected one by one). Archives (xlsx), images and PDFs hold
# NULs early, most often in their first line.
BINARY_SHARE = 0.01
BINARY_NULS = 8
NUL_ROW = "nul_in_row"


class CsvFileError(InvalidInput, ValueError):
    code = "invalid_csv"
    message = "The file is not a readable CSV file."


class EmptyCsvFile(CsvFileError):
    code = "empty_csv"
    message = "The file is empty: it has no header row."


class BinaryFile(CsvFileError):
    code = "binary_file"
    message = (
        "The file is not text: it holds NUL characters or other control bytes (a spreadsheet, "
        "an archive or an image?). Save it as CSV (UTF-8) and upload that file."
    )


def _legacy_text(raw: bytes) -> str:
    out: list[str] = []
    for byte in raw:
        try:
            out.append(bytes((byte,)).decode("cp1252"))
        except UnicodeDecodeError:
            out.append(chr(byte))  # Latin-1: every byte is the code point of the same value
    return "".join(out)


def _legacy_errors(exc: UnicodeError) -> tuple[str, int]:
    if not isinstance(exc, UnicodeDecodeError):
        raise exc
    return _legacy_text(exc.object[exc.start : exc.end]), exc.end


codecs.register_error(LEGACY_ERRORS, _legacy_errors)


@dataclass(frozen=True, slots=True)
class RowProblem:
    code: str  # "ragged_row" | "malformed_row" | "nul_in_row"
    message: str


@dataclass(frozen=True, slots=True)
class CsvRow:
    """`number` counts data records from 1 (the header is not one); `line` is the physical line
    where the record starts (the header is line 1), which differs once a field holds newlines."""

    number: int
    line: int
    values: dict[str, str]
    fields: tuple[str, ...]
    problem: RowProblem | None = None


# (number, line, fields, problem) of a CsvRow; fields is None for a row that could not be parsed.
RawRecord = tuple[int, int, list[str] | None, RowProblem | None]


def row_values(headers: list[str], fields: list[str]) -> dict[str, str]:
    """A row's values by header; a short row gets empty values, a long one loses its extras."""
    values = dict(zip(headers, fields, strict=False))
    for header in headers[len(fields) :]:
        values[header] = ""
    return values


def _csv_row(headers: list[str], record: RawRecord) -> CsvRow:
    number, line, fields, problem = record
    values = {} if fields is None else row_values(headers, fields)
    return CsvRow(number, line, values, tuple(fields or ()), problem)


@dataclass(slots=True)
class CsvSource:
    """A CSV file opened for reading. `rows()` starts a fresh pass over the file each time."""

    path: Path
    encoding: str
    delimiter: str
    headers: list[str]
    rows_read: int = 0
    blank_rows: int = 0
    _header_line: int = field(default=1, repr=False)

    def rows(self) -> Iterator[CsvRow]:
        return (_csv_row(self.headers, record) for record in self.records())

    def records(self) -> Iterator[RawRecord]:
        """Like `rows()`, as plain tuples: what a large import hands its workers."""
        self.rows_read = 0
        self.blank_rows = 0
        for record in _records(self):
            if record is None:
                self.blank_rows += 1
                continue
            self.rows_read += 1
            yield record

    def sample(self, n: int = 20) -> list[CsvRow]:
        with closing(_records(self)) as records:
            return [_csv_row(self.headers, r) for r in islice(filter(None, records), n)]

    def __iter__(self) -> Iterator[CsvRow]:
        return self.rows()


def open_csv(path: Path, *, delimiter: str | None = None) -> CsvSource:
    """Opens `path`, detects its encoding and (unless given) its delimiter, and reads the header.

    Raises EmptyCsvFile when the file holds no header row, BinaryFile when it is not text.
    """
    with path.open("rb") as raw:
        sample = raw.read(SAMPLE_BYTES)
        complete = not raw.read(1)
    encoding = detect_encoding(sample, complete=complete)
    if encoding != "utf-16" and looks_binary(sample):
        raise BinaryFile()
    if delimiter is None:
        delimiter = detect_delimiter(_decode_sample(sample, encoding), complete=complete)
    elif delimiter not in DELIMITERS:
        raise CsvFileError(
            f"Unsupported delimiter {delimiter!r}.", details={"delimiter": delimiter}
        )
    source = CsvSource(path=path, encoding=encoding, delimiter=delimiter, headers=[])
    with _text(source) as text:
        reader = csv.reader(text, delimiter=delimiter)
        for fields in reader:
            if not _is_blank(fields):
                if "\x00" in "".join(fields):  # no header can hold it (nor can PostgreSQL)
                    raise BinaryFile()
                source.headers = unique_headers(fields)
                source._header_line = reader.line_num
                return source
    raise EmptyCsvFile()


def detect_encoding(sample: bytes, *, complete: bool) -> str:
    if sample.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if sample.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    try:
        # final=False: a multi-byte character cut by the end of the sample is not an error.
        codecs.getincrementaldecoder("utf-8")().decode(sample, final=complete)
    except UnicodeDecodeError:
        return "cp1252"
    return "utf-8"


def looks_binary(sample: bytes) -> bool:
    """Whether a sample of a file (not UTF-16) is binary: a text file holds no NUL in its
    first line and hardly any elsewhere."""
    if b"\x00" in sample.split(b"\n", 1)[0]:
        return True
    nuls = sample.count(b"\x00")
    return nuls >= BINARY_NULS and nuls > BINARY_SHARE * len(sample)


def detect_delimiter(sample: str, *, complete: bool = False) -> str:
    """The candidate that splits the header into the most columns consistently with the rows
    below it. csv.Sniffer alone guesses wrong on short or quote-heavy samples; it only breaks ties.
    """
    try:
        sniffed: str | None = csv.Sniffer().sniff(sample, delimiters="".join(DELIMITERS)).delimiter
    except csv.Error:
        sniffed = None
    best, best_score = ",", (0.0, 0, False)
    for candidate in DELIMITERS:
        consistency, width = _delimiter_score(sample, candidate, complete=complete)
        score = (consistency, width, candidate == sniffed)
        if width >= 2 and score > best_score:
            best, best_score = candidate, score
    return best


def _delimiter_score(sample: str, delimiter: str, *, complete: bool) -> tuple[float, int]:
    try:
        records = [r for r in csv.reader(io.StringIO(sample), delimiter=delimiter) if r]
    except csv.Error:
        return (0.0, 0)
    if not complete:
        records = records[:-1]  # the last record may be cut by the end of the sample
    if not records:
        return (0.0, 0)
    width = len(records[0])
    body = records[1:]
    consistency = sum(len(r) == width for r in body) / len(body) if body else 1.0
    return (consistency, width)


def unique_headers(fields: list[str]) -> list[str]:
    """Header names stripped, blanks named `column_N`, repeats suffixed " (2)", " (3)"..."""
    headers: list[str] = []
    seen: set[str] = set()
    for index, name in enumerate(fields, start=1):
        base = name.strip() or f"column_{index}"
        candidate, n = base, 1
        while candidate.casefold() in seen:
            n += 1
            candidate = f"{base} ({n})"
        seen.add(candidate.casefold())
        headers.append(candidate)
    return headers


def _decode_sample(sample: bytes, encoding: str) -> str:
    decoder = codecs.getincrementaldecoder(encoding)(errors=_errors_for(encoding))
    return str(decoder.decode(sample, final=False))


def _errors_for(encoding: str) -> str:
    return "replace" if encoding == "utf-16" else LEGACY_ERRORS


def _text(source: CsvSource) -> io.TextIOWrapper:
    # newline="" hands line endings to the csv module, which keeps newlines inside quoted fields.
    return open(
        source.path, encoding=source.encoding, errors=_errors_for(source.encoding), newline=""
    )


def _is_blank(fields: list[str]) -> bool:
    # Whitespace-only fields joined are whitespace only: one call instead of one per field.
    return not "".join(fields).strip()


_NUL_MESSAGE = (
    "The row holds NUL bytes, which no text file has: the file may be corrupted here. "
    "It was not imported."
)


def _records(source: CsvSource) -> Generator[RawRecord | None, None, None]:
    """Data records after the header; None for a blank line (or one of empty fields)."""
    width = len(source.headers)
    with _text(source) as text:
        reader = csv.reader(text, delimiter=source.delimiter)
        for _ in reader:
            if reader.line_num >= source._header_line:
                break
        number = 0
        while True:
            start = reader.line_num + 1
            try:
                fields = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                number += 1
                malformed = RowProblem("malformed_row", f"The row could not be parsed: {exc}.")
                yield (number, start, None, malformed)
                continue
            joined = "".join(fields)
            if not joined.strip():
                yield None
                continue
            number += 1
            if "\x00" in joined:
                fields = [f.replace("\x00", "") for f in fields]
                yield (number, start, fields, RowProblem(NUL_ROW, _NUL_MESSAGE))
            elif len(fields) != width:
                message = f"The row has {len(fields)} fields; the header has {width}."
                yield (number, start, fields, RowProblem("ragged_row", message))
            else:
                yield (number, start, fields, None)
