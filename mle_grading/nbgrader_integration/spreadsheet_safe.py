"""CSV files that open safely in a spreadsheet (OWASP's rule against CSV injection).

A text cell whose first character is `=`, `+`, `-`, `@`, a tab or a carriage return
(after any leading spaces) is a formula to Excel, LibreOffice and Google Sheets:
`=HYPERLINK(...)` in a student's name becomes a live link, `=cmd|...` a command. Every
CSV the pack writes goes through `writer`: such a text cell is written with a single
quote in front (`'=HYPERLINK(...)`), so the spreadsheet shows it as text, quote
included; every text cell is quoted; numbers (int and float, the grade columns) are
written as they are, unquoted and never prefixed.
"""
import csv

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def is_formula(text):
    """Whether a spreadsheet would read this text cell as a formula."""
    return isinstance(text, str) and text.lstrip(" ")[:1] in FORMULA_START and text.lstrip(" ") != ""


def neutralise(value):
    """A cell as it is written: numbers unchanged, None empty, formula-shaped text behind a single quote."""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, (int, float)):
        return value
    text = "" if value is None else str(value)
    return "'" + text if is_formula(text) else text


class _Writer:
    def __init__(self, fh):
        # Text quoted, numbers bare: a number stays a number, a neutralised cell is one quoted field.
        self._writer = csv.writer(fh, quoting=csv.QUOTE_NONNUMERIC)

    def writerow(self, row):
        return self._writer.writerow([neutralise(v) for v in row])

    def writerows(self, rows):
        for row in rows:
            self.writerow(row)


def writer(fh):
    """A csv.writer-like object whose every row is written spreadsheet-safe."""
    return _Writer(fh)


def number(x, digits=2):
    """A grade as a number for `writer`: an int when whole, else rounded to `digits` places."""
    x = round(float(x), digits)
    return int(x) if x.is_integer() else x
