"""The people picker: a search box backed by the employee search, instead of a select of every name.

The box offers matches as the user types (a `<datalist>` refreshed by htmx from `/employees/options`), each shown
as "Name <e-mail>" so that namesakes can be told apart. What the form receives is resolved on the server: an
employee id, an e-mail address, or "Name <e-mail>"; a bare name that several people share is an error asking to
pick one from the list. Without JavaScript the box still works: type the e-mail address.
"""

from __future__ import annotations

import re
import uuid
from typing import Any

from django import forms
from django.core.exceptions import ValidationError

from timesheets.models import Employee
from timesheets.selectors import employee_list

PICKER_OPTIONS = 20
_WITH_EMAIL = re.compile(r"^(?P<name>.*?)\s*<(?P<email>[^<>\s]+@[^<>\s]+)>\s*$")


def picker_label(employee: Employee) -> str:
    return f"{employee.name} <{employee.email}>"


class EmployeePickerInput(forms.TextInput):
    input_type = "search"

    def __init__(self, attrs: dict[str, Any] | None = None) -> None:
        super().__init__(
            attrs={
                "autocomplete": "off",
                "list": "employee-options",
                "placeholder": "Name or e-mail",
                "hx-get": "/employees/options",
                "hx-trigger": "input changed delay:200ms",
                "hx-target": "#employee-options",
                "hx-swap": "innerHTML",
                **(attrs or {}),
            }
        )

    def format_value(self, value: Any) -> str | None:
        if isinstance(value, Employee):
            return picker_label(value)
        if value and (key := _uuid(value)) is not None:
            employee = Employee.objects.filter(id=key).only("name", "email").first()
            return picker_label(employee) if employee else str(value)
        formatted: str | None = super().format_value(value)
        return formatted


class EmployeePickerField(forms.Field):
    """Cleans to the one Employee the text names, among those `user` may see."""

    widget = EmployeePickerInput

    def __init__(self, *, user: Any = None, **kwargs: Any) -> None:
        kwargs.setdefault("label", "Employee")
        kwargs.setdefault("help_text", "Type a name or an e-mail address and pick from the list.")
        super().__init__(**kwargs)
        self.user = user

    def to_python(self, value: Any) -> Employee | None:
        text = str(value or "").strip()
        if not text:
            return None
        if "\x00" in text:  # no name or address holds one, and PostgreSQL refuses it in a query
            raise ValidationError("Null characters are not allowed.", code="null_characters_not_allowed")
        visible = employee_list(user=self.user)
        if (key := _uuid(text)) is not None:
            matches = list(visible.filter(id=key)[:2])
        elif (found := _WITH_EMAIL.match(text)) is not None:
            matches = list(employee_list(user=self.user, email=found["email"])[:2])
        elif "@" in text:
            matches = list(employee_list(user=self.user, email=text)[:2])
        else:
            matches = list(visible.filter(name__iexact=text)[:2])
        if not matches:
            raise ValidationError("No employee matches “%(text)s”.", code="unknown", params={"text": text[:80]})
        if len(matches) > 1:
            raise ValidationError(
                "More than one employee is called “%(text)s”: pick one from the list (it shows their e-mail).",
                code="ambiguous",
                params={"text": text[:80]},
            )
        return matches[0]


def _uuid(value: Any) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value))
    except ValueError:
        return None


class EmployeesPickerField(forms.Field):
    """Several people, one per line (or separated by commas outside "<…>"): each resolved as the single picker does."""

    widget = forms.Textarea

    def __init__(self, *, user: Any = None, **kwargs: Any) -> None:
        kwargs.setdefault("label", "Employees")
        super().__init__(**kwargs)
        self.user = user
        self.widget.attrs.update({"rows": "3", "placeholder": "ada@example.com\nGrace Hopper <grace@example.com>"})

    def to_python(self, value: Any) -> list[Employee]:
        entries = [part.strip() for part in re.split(r"[\n;]|,(?![^<]*>)", str(value or "")) if part.strip()]
        single = EmployeePickerField(user=self.user)
        found: list[Employee] = []
        problems: list[str] = []
        for entry in entries[:500]:
            try:
                employee = single.to_python(entry)
            except ValidationError as exc:
                problems.extend(exc.messages)
                continue
            if employee is not None and employee not in found:
                found.append(employee)
        if problems:
            raise ValidationError(problems)
        return found
