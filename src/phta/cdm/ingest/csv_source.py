"""An OMOP CSV folder: which file is which table, each file's header, and file-level checks.

Real exports vary, so file names and headers are matched case-insensitively (``PERSON.csv``,
``Person.CSV`` and ``person.csv`` are all ``person``) and ``.tsv`` files (tab-delimited) are read
too. A ``.csv`` whose header has tabs and no commas is read as tab-delimited.

File-level problems raise ``MalformedFile`` naming the file and line; the loader turns that into
a failed load with the store unchanged. Messages never quote the file's contents (rule 3: they
may be record-level data) -- only names of files and OMOP fields, and positions.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from pathlib import Path

from phta.cdm.ingest.versions import known_table

CSV_SUFFIXES = {".csv": ",", ".tsv": "\t"}
_SNIFF_BYTES = 64 * 1024
_CHUNK = 4 * 1024 * 1024
_FIELD_NAME = re.compile(r"^[a-z][a-z0-9_]*$")


class LoadError(Exception):
    """A load that cannot go ahead; the store is left unchanged."""


class MalformedFile(LoadError):
    def __init__(self, file: str, line: int, problem: str) -> None:
        self.file, self.line, self.problem = file, line, problem
        super().__init__(f"{file}, line {line}: {problem}")


@dataclass(frozen=True)
class SourceFile:
    path: Path
    table: str
    delimiter: str
    columns: tuple[str, ...]  # lower-cased header names, in file order

    @property
    def name(self) -> str:
        return self.path.name


@dataclass(frozen=True)
class SourceFolder:
    files: tuple[SourceFile, ...]
    unknown: tuple[str, ...]  # .csv/.tsv files whose name is no OMOP table
    ignored: tuple[str, ...]  # files that are not .csv/.tsv (README, checksums, ...)


def scan_folder(src: Path) -> SourceFolder:
    """Find the table files of an OMOP CSV folder and read (and check) their headers."""
    if not src.is_dir():
        raise LoadError(f"{src}: not a directory of OMOP CSV files")
    by_table: dict[str, Path] = {}
    unknown: list[str] = []
    ignored: list[str] = []
    for path in sorted(p for p in src.iterdir() if p.is_file()):
        suffix = path.suffix.lower()
        if suffix not in CSV_SUFFIXES:
            ignored.append(path.name)
            continue
        table = path.stem.strip().lower()
        if not known_table(table):
            unknown.append(path.name)
            continue
        if table in by_table:
            raise LoadError(
                f"{by_table[table].name} and {path.name} are both table {table}; keep only one"
            )
        by_table[table] = path
    files = tuple(read_header(path, table) for table, path in by_table.items())
    return SourceFolder(files=files, unknown=tuple(unknown), ignored=tuple(ignored))


def read_header(path: Path, table: str) -> SourceFile:
    """Check the file is UTF-8 text and parse its header line (line 1)."""
    name = path.name
    with path.open("rb") as fh:
        head = fh.read(_SNIFF_BYTES)
    if not head.strip():
        raise MalformedFile(name, 1, "the file is empty; expected a header line naming the columns")
    if b"\x00" in head:
        line = head[: head.index(b"\x00")].count(b"\n") + 1
        raise MalformedFile(name, line, "binary content (NUL byte); this is not a CSV text file")
    first = head.split(b"\n", 1)[0]
    if len(first) == len(head) and len(head) == _SNIFF_BYTES:
        raise MalformedFile(name, 1, f"no line break in the first {_SNIFF_BYTES} bytes; not a CSV file")
    try:
        text = first.decode("utf-8-sig").rstrip("\r")
    except UnicodeDecodeError:
        raise MalformedFile(name, 1, "the header is not UTF-8 text (wrong encoding)") from None
    delimiter = CSV_SUFFIXES[path.suffix.lower()]
    if delimiter == "," and "\t" in text and "," not in text:
        delimiter = "\t"
    names = next(csv.reader(io.StringIO(text), delimiter=delimiter, quotechar='"'), [])
    columns = tuple(n.strip().lower() for n in names)
    for i, col in enumerate(columns, start=1):
        if not col:
            raise MalformedFile(name, 1, f"header column {i} has no name")
        if not _FIELD_NAME.match(col):
            raise MalformedFile(
                name, 1, f"header column {i} is not a field name; is the header line missing?"
            )
    dupes = sorted({c for c in columns if columns.count(c) > 1})
    if dupes:
        raise MalformedFile(name, 1, f"header names {', '.join(dupes)} more than once")
    return SourceFile(path=path, table=table, delimiter=delimiter, columns=columns)


def line_of_byte(path: Path, byte_position: int) -> int:
    """The physical (1-based) line holding a byte offset."""
    count = 0
    remaining = byte_position
    with path.open("rb") as fh:
        while remaining > 0:
            chunk = fh.read(min(_CHUNK, remaining))
            if not chunk:
                break
            count += chunk.count(b"\n")
            remaining -= len(chunk)
    return count + 1


def has_blank_lines(path: Path) -> bool:
    """True when the file has an empty line before its last line (CSV readers skip those, so
    record numbers and line numbers part ways)."""
    pattern = re.compile(rb"\n\r?\n(?=.)", re.DOTALL)
    tail = b""
    with path.open("rb") as fh:
        while chunk := fh.read(_CHUNK):
            block = tail + chunk
            if pattern.search(block):
                return True
            tail = block[-3:]
    return False


def lines_of_records(src: SourceFile, records: set[int]) -> dict[int, int]:
    """Physical start line of the given 1-based data records, by reading the file with Python's
    csv module (used only for files with blank lines, where arithmetic on newlines is not enough).
    """
    out: dict[int, int] = {}
    with src.path.open(encoding="utf-8-sig", newline="") as fh:
        reader = csv.reader(fh, delimiter=src.delimiter, quotechar='"')
        next(reader, None)  # header
        record = 0
        start = reader.line_num + 1
        for row in reader:
            if row:
                record += 1
                if record in records:
                    out[record] = start
                    if len(out) == len(records):
                        break
            start = reader.line_num + 1
    return out


def first_other_line_ending(path: Path) -> int | None:
    """The first line whose ending (\\n or \\r\\n) differs from line 1's, or None."""
    with path.open("rb") as fh:
        data = fh.read(_CHUNK * 16)  # a diagnostic on a failing file: the first 64 MiB suffice
    first = data.find(b"\n")
    if first < 0:
        return None
    crlf = first > 0 and data[first - 1 : first] == b"\r"
    line, pos = 1, first
    while (nxt := data.find(b"\n", pos + 1)) >= 0:
        line += 1
        if (nxt > 0 and data[nxt - 1 : nxt] == b"\r") != crlf:
            return line
        pos = nxt
    return None
