"""A report as CSV or XLSX: stable columns, cells a spreadsheet cannot read as formulas."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from typing import Any

from django.http import HttpResponse, StreamingHttpResponse
from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

from core.spreadsheet import spreadsheet_cell
from reports.selectors import Report


class _EchoBuffer:
    def write(self, value: str) -> str:
        return value


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, date):
        return value.isoformat()
    return spreadsheet_cell(value)


def report_csv(report: Report, filename: str) -> StreamingHttpResponse:
    writer = csv.writer(_EchoBuffer())

    def lines() -> Iterator[str]:
        yield writer.writerow(report.columns)
        for row in report.rows:
            yield writer.writerow([_plain(value) for value in row])

    response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}.csv"'
    return response


def _xlsx_value(value: Any) -> Any:
    # Numbers stay numbers; text is neutralised like the CSV's, without the control characters XLSX cannot hold.
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, str):
        return spreadsheet_cell(ILLEGAL_CHARACTERS_RE.sub("", value))
    return value


def report_xlsx(report: Report, filename: str) -> HttpResponse:
    book = Workbook(write_only=True)
    sheet = book.create_sheet(report.title[:31])
    sheet.append(report.columns)
    for row in report.rows:
        sheet.append([_xlsx_value(value) for value in row])
    buffer = io.BytesIO()
    book.save(buffer)
    response = HttpResponse(
        buffer.getvalue(), content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    response["Content-Disposition"] = f'attachment; filename="{filename}.xlsx"'
    return response
