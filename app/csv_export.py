"""The one CSV writer every export uses: text that a spreadsheet would run as a formula is neutralised.

A cell starting with `=`, `+`, `-`, `@`, a tab or a carriage return runs as a formula when the file is opened
in Excel, LibreOffice or Google Sheets (CSV injection), e.g. `=HYPERLINK("https://evil.example", "Click")`.
Such text cells get a leading apostrophe, which spreadsheets show as text and do not evaluate. Numbers stay
numbers (a vote of -1 is written `-1`), so Polis-format files keep their meaning.
"""
from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from typing import Any

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: Any) -> Any:
    """The value to write in a cell: numbers as they are, text with a leading apostrophe if it starts a formula."""
    if value is None:
        return ""
    if isinstance(value, (bool, int, float)):
        return value
    text = str(value)
    return "'" + text if text.startswith(FORMULA_START) else text


class CsvWriter:
    """`csv.writer` with every cell passed through `safe_cell`."""

    def __init__(self, out, **fmtparams):
        self._writer = csv.writer(out, **fmtparams)

    def writerow(self, row: Iterable[Any]):
        return self._writer.writerow([safe_cell(value) for value in row])

    def writerows(self, rows: Iterable[Iterable[Any]]) -> None:
        for row in rows:
            self.writerow(row)


class DictCsvWriter(csv.DictWriter):
    """`csv.DictWriter` with every cell passed through `safe_cell`."""

    def writerow(self, rowdict):
        return super().writerow({key: safe_cell(value) for key, value in rowdict.items()})


def writer(out, **fmtparams) -> CsvWriter:
    return CsvWriter(out, **fmtparams)


def dict_writer(out, fieldnames, **kwargs) -> DictCsvWriter:
    return DictCsvWriter(out, fieldnames=fieldnames, **kwargs)


def to_csv(rows: Iterable[Iterable[Any]], header: Iterable[str] | None = None, **fmtparams) -> str:
    """A whole CSV document as text."""
    out = io.StringIO()
    w = CsvWriter(out, **fmtparams)
    if header is not None:
        w.writerow(header)
    w.writerows(rows)
    return out.getvalue()
