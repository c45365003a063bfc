"""Cells of files meant for spreadsheets (CSV exports): nothing in them may be read as a formula."""

from __future__ import annotations

import re
from typing import Any

# A spreadsheet runs a cell as a formula when it opens with one of these.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
# Where a spreadsheet may start a new cell inside our value: the separators its import dialogs offer (comma,
# semicolon, tab, pipe, space, colon), line breaks, and quotes it may strip. A formula opening after any of them
# (or at the start) gets an apostrophe, which makes a spreadsheet read the cell as text.
_FORMULA_OPENING = re.compile(r"(?:^|(?<=[,;\t|: \r\n\"']))(?=[=+\-@\t\r])")


def spreadsheet_cell(value: Any) -> Any:
    """The value as a CSV cell no spreadsheet reads as a formula, whatever separator it splits lines on.

    `Bob;=1+1;@SUM(2+2)` becomes `Bob;'=1+1;'@SUM(2+2)`; `Anne-Marie` is left as it is.
    """
    if not isinstance(value, str):
        return value
    return _FORMULA_OPENING.sub("'", value)
