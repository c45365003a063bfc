"""Cells for files a spreadsheet opens (CSV, XLSX): text that a spreadsheet could run as a formula is neutralised."""

from __future__ import annotations

import re
from typing import Any

# A spreadsheet may split a CSV line on `,`, `;`, tab or `|` whatever the file meant, so a formula can start at
# the beginning of the cell or after any of those separators (or after a line break inside a quoted cell).
_FORMULA_START = re.compile(r"(^|[,;\t|\r\n])(\s*)([=+\-@])")


def spreadsheet_cell(value: Any) -> Any:
    """The value as it may go into a cell: every place where a formula could start gets a leading quote."""
    if isinstance(value, str):
        return _FORMULA_START.sub(r"\1\2'\3", value)
    return value
