"""Tenant export and import: a round trip reproduces every table, masks PII by default, refuses damage."""

from __future__ import annotations

import json
import zipfile
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.db import transaction
from django_tenants.utils import schema_exists, tenant_context

from audit.models import AuditEvent
from audit.services import audit_append, audit_verify
from tenants.crypto import blind_index
from tenants.exporting import MANIFEST_NAME, table_content_digest, table_specs, tenant_export
from tenants.importing import ArchiveError, tenant_import
from tenants.models import Domain, Tenant
from tests.conftest import TenantHandle
from tests.timesheets.factories import make_allocation, make_attendance, make_employee, make_project, make_suggestion
from timesheets.models import Employee

PEOPLE = [
    {"name": "Ada Lovelace", "email": "ada@alpha.test", "national_id": "NI-1815-12-10", "bank": "GB33 BUKB 2020 1555"},
    {"name": "Alan Turing", "email": "alan@alpha.test", "national_id": "NI-1912-06-23", "bank": "DE44 5001 0517 5407"},
]


def _seed(handle: TenantHandle) -> list[Employee]:
    project = make_project(handle, code="OPS-EXP", name="Export ops")
    employees = []
    for index, person in enumerate(PEOPLE):
        employee = make_employee(
            handle,
            name=person["name"],
            email=person["email"],
            national_id=person["national_id"],
            bank_account=person["bank"],
            salary=Decimal("71234.50") + index,
        )
        make_attendance(handle, employee, day=date(2026, 3, 2))
        make_allocation(handle, employee, project, day=date(2026, 3, 2), hours="7.25")
        make_suggestion(handle, employee, project, day=date(2026, 3, 3), confidence="0.875")
        employees.append(employee)
    make_employee(handle, name="No PII", email="nopii@alpha.test")
    with tenant_context(handle.tenant), transaction.atomic():
        audit_append(actor=None, action="ops.probe", object_type="probe", data={"hours": Decimal("1.50"), "n": 3})
    return employees


def _restored(slug: str) -> Tenant:
    tenant: Tenant = Tenant.objects.get(slug=slug)
    return tenant


def test_an_export_with_pii_restores_every_table_row_and_hash_and_a_verifying_audit_chain(
    alpha: TenantHandle, tmp_path: Path
) -> None:
    _seed(alpha)
    Tenant.objects.filter(pk=alpha.tenant.pk).update(locale="de-DE")
    archive = tmp_path / "alpha.zip"
    manifest = tenant_export(slug=alpha.tenant.slug, out=archive, include_pii=True)

    result = tenant_import(archive_path=archive, slug="alpha-restored", domain="alpha-restored.localhost")

    restored = _restored("alpha-restored")
    assert restored.locale == "de-DE"
    assert result.tenant.schema_name == restored.schema_name == "t_alpha_restored"
    assert Domain.objects.get(domain="alpha-restored.localhost").tenant_id == restored.id
    specs = table_specs(restored.schema_name)
    assert {spec.name for spec in specs} == set(manifest["tables"])
    for spec in specs:
        rows, content = table_content_digest(restored.schema_name, spec, include_pii=True)
        assert (spec.name, rows, content) == (
            spec.name,
            manifest["tables"][spec.name]["rows"],
            manifest["tables"][spec.name]["content_sha256"],
        )
    assert manifest["tables"]["timesheets_employee"]["rows"] >= 3
    with tenant_context(alpha.tenant):
        source_events = list(AuditEvent.objects.values_list("sequence", "hash"))
    with tenant_context(restored):
        assert audit_verify().ok
        assert list(AuditEvent.objects.values_list("sequence", "hash")) == source_events
        # PII decrypts under the new tenant's own key, and the blind indexes find it.
        for person in PEOPLE:
            found = Employee.objects.get(email_index=blind_index(person["email"], purpose="email"))
            assert found.national_id == person["national_id"]
            assert found.bank_account == person["bank"]
            assert Employee.objects.filter(
                national_id_index=blind_index(person["national_id"], purpose="national_id")
            ).exists()
        assert Employee.objects.get(name="Ada Lovelace").salary == Decimal("71234.50")


def test_an_export_without_the_flag_masks_pii_and_still_restores(alpha: TenantHandle, tmp_path: Path) -> None:
    _seed(alpha)
    archive = tmp_path / "alpha-masked.zip"
    manifest = tenant_export(slug=alpha.tenant.slug, out=archive, include_pii=False)

    assert manifest["pii"] == "masked"
    assert manifest["tables"]["timesheets_employee"]["masked_columns"] == ["bank_account", "national_id", "salary"]
    with zipfile.ZipFile(archive) as opened:
        content = b"".join(opened.read(name) for name in opened.namelist())
        employees = [json.loads(line) for line in opened.read("tables/timesheets_employee.jsonl").splitlines()]
    for person in PEOPLE:
        assert person["national_id"].encode() not in content
        assert person["bank"].encode() not in content
    assert b"71234.5" not in content
    ada = next(row for row in employees if row["name"] == "Ada Lovelace")
    assert ada["national_id"] == ada["bank_account"] == ada["salary"] == "[masked]"
    assert "national_id_index" not in ada
    assert "email_index" not in ada

    tenant_import(archive_path=archive, slug="alpha-masked", domain="alpha-masked.localhost")
    with tenant_context(_restored("alpha-masked")):
        assert audit_verify().ok
        restored = Employee.objects.get(email_index=blind_index("ada@alpha.test", purpose="email"))
        assert restored.national_id is None
        assert restored.salary is None


def _rewrite(archive: Path, damaged: Path, change: Any) -> None:
    with zipfile.ZipFile(archive) as source, zipfile.ZipFile(damaged, "w") as target:
        for item in source.infolist():
            data = change(item.filename, source.read(item.filename))
            if data is not None:
                target.writestr(item.filename, data)


def _flip_a_row(name: str, data: bytes) -> bytes:
    return data.replace(b"Ada Lovelace", b"Ada Lovelacf") if name == "tables/timesheets_employee.jsonl" else data


def _drop_a_table(name: str, data: bytes) -> bytes | None:
    return None if name == "tables/timesheets_project.jsonl" else data


def _drop_the_manifest(name: str, data: bytes) -> bytes | None:
    return None if name == MANIFEST_NAME else data


def _edit_the_manifest_counts(name: str, data: bytes) -> bytes:
    if name != MANIFEST_NAME:
        return data
    manifest = json.loads(data)
    manifest["tables"]["timesheets_employee"]["rows"] += 1
    return json.dumps(manifest).encode()


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (_flip_a_row, "checksum mismatch"),
        (_drop_a_table, "missing from the archive"),
        (_drop_the_manifest, "no manifest.json"),
        (_edit_the_manifest_counts, "rows in the file"),
    ],
)
def test_a_damaged_archive_is_refused_with_a_clear_error_and_nothing_is_created(
    alpha: TenantHandle, tmp_path: Path, change: Any, message: str
) -> None:
    _seed(alpha)
    archive, damaged = tmp_path / "alpha.zip", tmp_path / "damaged.zip"
    tenant_export(slug=alpha.tenant.slug, out=archive, include_pii=True)
    _rewrite(archive, damaged, change)
    tenants_before = Tenant.objects.count()

    with pytest.raises(ArchiveError, match=message):
        tenant_import(archive_path=damaged, slug="alpha-damaged", domain="alpha-damaged.localhost")

    assert Tenant.objects.count() == tenants_before
    assert not schema_exists("t_alpha_damaged")
    assert not Domain.objects.filter(domain="alpha-damaged.localhost").exists()


def test_a_file_that_is_not_an_archive_is_refused(db: None, tmp_path: Path) -> None:
    truncated = tmp_path / "truncated.zip"
    truncated.write_bytes(b"PK\x03\x04 not really a zip")
    with pytest.raises(ArchiveError, match="not a readable zip archive"):
        tenant_import(archive_path=truncated, slug="alpha-broken", domain="alpha-broken.localhost")
    assert not Tenant.objects.filter(slug="alpha-broken").exists()


def test_the_commands_export_and_restore_a_tenant(alpha: TenantHandle, tmp_path: Path, capsys) -> None:
    _seed(alpha)
    archive = tmp_path / "acme.zip"
    call_command("export_tenant", "--slug", alpha.tenant.slug, "--out", str(archive), "--include-pii")
    call_command("import_tenant", "--in", str(archive), "--slug", "alpha-cmd", "--domain", "alpha-cmd.localhost")

    out = capsys.readouterr().out
    assert f"Exported {alpha.tenant.slug}" in out
    assert "PII included" in out
    assert "Restored alpha-cmd (t_alpha_cmd) at alpha-cmd.localhost" in out
    with pytest.raises(CommandError, match="already exists"):
        call_command("import_tenant", "--in", str(archive), "--slug", "alpha-cmd", "--domain", "other.localhost")
    with pytest.raises(CommandError, match="No tenant"):
        call_command("export_tenant", "--slug", "no-such-tenant", "--out", str(tmp_path / "x.zip"))
