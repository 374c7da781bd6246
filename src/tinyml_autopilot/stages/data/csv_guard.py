"""Refuse, before any parser reads it, a text file the loader could not take in bounded time and memory.

pandas reads a header line whole: one with millions of columns takes minutes and gigabytes before
failing. Reading a bounded number of bytes per line, and counting separators, decides in milliseconds.
A UTF-16 file (as some spreadsheet exports save "Unicode text") is named as such, not as binary.
"""

from __future__ import annotations

import codecs
from pathlib import Path

from ...errors import UserError

MAX_LINE_BYTES = 4 * 1024 * 1024
MAX_COLUMNS = 100_000
LINES_CHECKED = 20
SEPARATORS = b",;\t|"


def guard_text_table(path: Path) -> None:
    """One UserError line when `path` is UTF-16/32 text, or its first lines are too long or too wide."""
    with Path(path).open("rb") as fh:
        head = fh.read(4096)
        encoding = _wide_encoding(head)
        if encoding:
            raise UserError(f"{path} is {encoding} text, not UTF-8: save it as UTF-8 (CSV UTF-8 in a "
                            f"spreadsheet), e.g. iconv -f {encoding} -t UTF-8 {path.name} > {path.stem}-utf8.csv")
        fh.seek(0)
        for number in range(1, LINES_CHECKED + 1):
            line = fh.readline(MAX_LINE_BYTES + 1)
            if not line:
                return
            what = "header line" if number == 1 else f"line {number}"
            if len(line) > MAX_LINE_BYTES:
                raise UserError(f"{path}: its {what} is longer than {MAX_LINE_BYTES >> 20} MB, too long for a CSV "
                                "of sensor data: check that it is a table with one record per line")
            columns = 1 + max(line.count(sep) for sep in (bytes([c]) for c in SEPARATORS))
            if columns > MAX_COLUMNS:
                raise UserError(f"{path}: its {what} has {columns:,} columns, more than {MAX_COLUMNS:,}: "
                                "reduce the columns (or transpose the table: one record per line)")


def _wide_encoding(head: bytes) -> str | None:
    """'UTF-16' or 'UTF-32' from a byte-order mark, or from the zero bytes of ASCII text without one."""
    for bom, name in ((codecs.BOM_UTF32_LE, "UTF-32"), (codecs.BOM_UTF32_BE, "UTF-32"),
                      (codecs.BOM_UTF16_LE, "UTF-16"), (codecs.BOM_UTF16_BE, "UTF-16")):
        if head.startswith(bom):
            return name
    sample = head[: len(head) // 2 * 2]
    if len(sample) < 8:
        return None
    even, odd = sample[0::2], sample[1::2]
    for zeros, text in ((odd, even), (even, odd)):  # little-endian ASCII: every second byte zero
        if zeros.count(0) > 0.9 * len(zeros) and text.count(0) < 0.1 * len(text):
            return "UTF-16"
    return None
