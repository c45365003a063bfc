"""Model fields whose values are stored encrypted with the tenant's data key (see tenants.crypto)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.db import models
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models.expressions import Expression
from django.db.models.query_utils import DeferredAttribute

from core.schema import current_schema
from tenants.crypto import FieldContext, field_decrypt, field_encrypt


class Sealed:
    """Ciphertext as read from the database; decrypted on first attribute access."""

    __slots__ = ("schema", "token")

    def __init__(self, token: str, schema: str) -> None:
        self.token = token
        self.schema = schema

    def __repr__(self) -> str:
        return "<sealed>"


class Ciphertext(str):
    """A value this field encrypted itself; the only kind of string it writes to the database."""


class EncryptedAttribute(DeferredAttribute):
    """A data descriptor (it defines __set__), so reads always pass through __get__ and get decrypted."""

    field: EncryptedTextField

    def __set__(self, instance: Any, value: Any) -> None:
        instance.__dict__[self.field.attname] = value

    def __get__(self, instance: Any, cls: Any = None) -> Any:
        if instance is None:
            return self
        value = super().__get__(instance, cls)
        if isinstance(value, Sealed):
            value = self.field.open(instance, value)
            instance.__dict__[self.field.attname] = value
        return value


class EncryptedTextField(models.TextField):  # type: ignore[type-arg]
    """Text encrypted with AES-256-GCM, bound to its schema, table, column and row.

    Not filterable: look values up through a blind index column instead.
    """

    descriptor_class = EncryptedAttribute

    def to_plaintext(self, value: Any) -> str:
        return str(value)

    def from_plaintext(self, text: str) -> Any:
        return text

    def _context(self, instance: models.Model, schema: str) -> FieldContext:
        if instance.pk is None:
            raise ValueError(f"{self.model.__name__}.{self.name} needs a primary key before it is encrypted")
        return FieldContext(
            schema=schema, table=self.model._meta.db_table, column=str(self.column), row_id=str(instance.pk)
        )

    def open(self, instance: models.Model, sealed: Sealed) -> Any:
        return self.from_plaintext(field_decrypt(sealed.token, self._context(instance, sealed.schema)))

    def pre_save(self, model_instance: models.Model, add: bool) -> Any:
        raw = model_instance.__dict__.get(self.attname)
        if raw is None:
            return None
        if isinstance(raw, Sealed):
            # Unchanged since it was read: keep the stored ciphertext.
            return Ciphertext(raw.token)
        return self.seal(model_instance, raw)

    def seal(self, instance: models.Model, value: Any) -> Ciphertext:
        """Encrypt a plain value for this row under the tenant's primary data key."""
        return Ciphertext(field_encrypt(self.to_plaintext(value), self._context(instance, current_schema())))

    def from_db_value(self, value: Any, expression: Expression, conn: BaseDatabaseWrapper) -> Any:
        if value is None:
            return None
        return Sealed(value, getattr(conn, "schema_name", "public"))

    def to_python(self, value: Any) -> Any:
        return value

    def get_prep_value(self, value: Any) -> Any:
        if value is None or isinstance(value, Ciphertext):
            return value
        if isinstance(value, Sealed):
            return value.token
        raise TypeError(f"{self.name} is encrypted: it cannot be filtered or bulk-updated with a plain value")


class EncryptedDecimalField(EncryptedTextField):
    """A Decimal (money) stored encrypted."""

    def from_plaintext(self, text: str) -> Any:
        return Decimal(text)

    def to_plaintext(self, value: Any) -> str:
        return str(Decimal(value))
