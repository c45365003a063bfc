"""The API's JSON parser: DRF's, refusing bodies nested deeper than MAX_JSON_DEPTH before decoding them."""

from __future__ import annotations

import io
import re
from collections.abc import Mapping
from typing import IO, Any

from rest_framework import exceptions as drf_exceptions
from rest_framework.parsers import JSONParser

# No request of the API nests deeper than a few levels; 64 leaves room and keeps Python's decoder (recursive,
# RecursionError past about 1,000 levels) and everything walking the data far from the interpreter's limit.
MAX_JSON_DEPTH = 64

_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"')  # alternatives are disjoint: linear time, no backtracking blow-up
_NOT_BRACKET = re.compile(rb"[^\[\]{}]+")


class JsonTooDeep(drf_exceptions.ParseError):
    default_code = "invalid_json"


def json_depth_exceeds(body: bytes, limit: int = MAX_JSON_DEPTH) -> bool:
    """Whether the JSON text nests arrays and objects deeper than `limit` (brackets inside strings not counted)."""
    if body.count(b"[") + body.count(b"{") <= limit:
        return False  # too few openings to nest that deep: the usual body costs two counts
    depth = 0
    for bracket in _NOT_BRACKET.sub(b"", _STRING.sub(b"", body)):
        if bracket in b"[{":
            depth += 1
            if depth > limit:
                return True
        else:
            depth -= 1
    return False


class BoundedJSONParser(JSONParser):
    """The default parser of the API: a body nested too deep is a 400 `invalid_json`, never a RecursionError."""

    def parse(
        self, stream: IO[Any], media_type: str | None = None, parser_context: Mapping[str, Any] | None = None
    ) -> Any:
        body = stream.read()
        if json_depth_exceeds(body):
            raise JsonTooDeep(f"JSON nested deeper than {MAX_JSON_DEPTH} levels is refused.")
        return super().parse(io.BytesIO(body), media_type, parser_context)
