"""API field types shared by the serializers."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers


class Text(serializers.CharField):
    """A CharField whose `max_length` applies to the text as sent, as the OpenAPI schema states it.

    DRF trims surrounding whitespace first and measures afterwards, so a value longer than the schema's
    `maxLength` could pass when it had blanks at its ends; here it is refused like any other over-long value.
    """

    def to_internal_value(self, data: Any) -> str:
        if isinstance(data, str) and self.max_length is not None and len(data) > self.max_length:
            self.fail("max_length", max_length=self.max_length)
        return str(super().to_internal_value(data))


class Flag(serializers.BooleanField):
    """A boolean that is only JSON `true` or `false`, as the schema states: DRF would also take 1, "yes" or "on"."""

    def to_internal_value(self, data: Any) -> bool:
        if not isinstance(data, bool):
            self.fail("invalid", input=data)
        return data
