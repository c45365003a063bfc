"""Input field types shared by API serializers and UI forms: text as sent, dates in range, finite decimals.

Dates: the product works with dates from DATE_MIN to DATE_MAX. Outside that range a value is bad input (400
in the API, a form error in the UI), so no code downstream meets a date it cannot add a week to (Python's
calendar ends at 9999-12-31) or a period nobody can mean.

Decimals: NaN and the infinities are refused wherever a number is typed. DRF's and Django's DecimalFields do it
themselves; a number read by hand from a request goes through `finite_decimal`.

Hours of a day are shown in the tenant's locale ("1,5" or "1.5") and typed back either way: `hours_decimal` and
`HoursFormField` take a comma or a point as the decimal separator. A day has at most 24 hours, so neither can be
a thousands separator; a figure with both ("1.234,5") is refused rather than guessed.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from rest_framework import serializers

DATE_MIN = date(2000, 1, 1)
DATE_MAX = date(2099, 12, 31)
DATE_RANGE_MESSAGE = f"Enter a date from {DATE_MIN.isoformat()} to {DATE_MAX.isoformat()}."
# The same range as a pattern for the OpenAPI schema (hrms/openapi.py): only real calendar dates of 2000 to 2099
# (every fourth year a leap year, 2000 included), so a client generating from the schema sends valid ones.
DATE_PATTERN = (
    r"^(?:20\d{2}-(?:(?:0[13578]|1[02])-(?:0[1-9]|[12]\d|3[01])|(?:0[469]|11)-(?:0[1-9]|[12]\d|30)"
    r"|02-(?:0[1-9]|1\d|2[0-8]))|20(?:[02468][048]|[13579][26])-02-29)$"
)


def date_in_range(value: date) -> None:
    """Validator: the date lies within DATE_MIN..DATE_MAX."""
    if not DATE_MIN <= value <= DATE_MAX:
        raise ValidationError(DATE_RANGE_MESSAGE, code="date_range")


def finite_decimal(text: str) -> Decimal:
    """A typed number as a Decimal; ValidationError for anything else, NaN and the infinities included."""
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise ValidationError("Enter a number.", code="invalid") from None
    if not value.is_finite():
        raise ValidationError("Enter a number.", code="invalid")
    return value


def hours_decimal(text: str) -> Decimal:
    """Typed hours, with a comma or a point as the decimal separator; ValidationError for anything else."""
    text = text.strip()
    if "," in text and "." not in text:
        text = text.replace(",", ".")
    return finite_decimal(text)


class HoursFormField(forms.DecimalField):
    """A UI form's hours of one day: shown in the tenant's locale, typed with a comma or a point."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("localize", True)
        kwargs.setdefault("widget", forms.TextInput(attrs={"inputmode": "decimal"}))
        super().__init__(**kwargs)

    def to_python(self, value: Any) -> Decimal | None:  # type: ignore[override]
        if value in self.empty_values:
            return None
        try:
            return hours_decimal(str(value))
        except ValidationError:
            raise ValidationError(self.error_messages["invalid"], code="invalid") from None


class Date(serializers.DateField):
    """An API date input, within DATE_MIN..DATE_MAX."""

    default_validators = [date_in_range]


class DateFormField(forms.DateField):
    """A UI form's date, within DATE_MIN..DATE_MAX."""

    default_validators = [date_in_range]


class Text(serializers.CharField):
    """A CharField whose `max_length` applies to the text as sent, as the OpenAPI schema states it.

    DRF trims surrounding whitespace first and measures afterwards, so a value longer than the schema's
    `maxLength` could pass when it had blanks at its ends; here it is refused like any other over-long value.
    """

    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):  # the schema says string: DRF would turn a number into one
            self.fail("invalid")
        if self.max_length is not None and len(data) > self.max_length:
            self.fail("max_length", max_length=self.max_length)
        return str(super().to_internal_value(data))


class Slug(serializers.SlugField):
    """A slug that is only a JSON string, as the schema states (DRF would turn a number into one)."""

    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            self.fail("invalid")
        return str(super().to_internal_value(data))


class Flag(serializers.BooleanField):
    """A boolean that is only JSON `true` or `false`, as the schema states: DRF would also take 1, "yes" or "on"."""

    def to_internal_value(self, data: Any) -> bool:
        if not isinstance(data, bool):
            self.fail("invalid", input=data)
        return data
