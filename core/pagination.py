"""Pagination shared by every list endpoint, and the validation of its two query parameters."""

from __future__ import annotations

import re
from typing import Any

from rest_framework.pagination import PageNumberPagination

MAX_PAGE = 2**31 - 1
_DIGITS = re.compile(r"[0-9]{1,10}")


class DefaultPagination(PageNumberPagination):
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 500

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        parameters = super().get_schema_operation_parameters(view)
        bounds = {"page": (1, MAX_PAGE), "page_size": (1, self.max_page_size)}
        for parameter in parameters:
            low, high = bounds[parameter["name"]]
            parameter["schema"].update({"minimum": low, "maximum": high})
        return parameters


def pagination_errors(params: Any) -> dict[str, list[str]]:
    """`page` and `page_size` as DefaultPagination reads them; a value it would silently ignore is an error.

    DRF falls back to the first page or the default size on a malformed value and clamps an oversized page
    size; the API refuses them instead, so a client never reads a page it did not ask for.
    """
    errors: dict[str, list[str]] = {}
    page = params.get("page")
    if page is not None and page != "last" and not _within(page, 1, MAX_PAGE):
        errors["page"] = [f"Must be an integer from 1 to {MAX_PAGE} (or `last`)."]
    size = params.get("page_size")
    if size is not None and not _within(size, 1, DefaultPagination.max_page_size):
        errors["page_size"] = [f"Must be an integer from 1 to {DefaultPagination.max_page_size}."]
    return errors


def _within(value: str, low: int, high: int) -> bool:
    return _DIGITS.fullmatch(value) is not None and low <= int(value) <= high
