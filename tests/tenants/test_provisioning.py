"""Provisioning is all or nothing, refuses duplicates, and the operator commands behave."""

from __future__ import annotations

import io

import pytest
from django.contrib.auth.models import Group, User
from django.core.management import CommandError, call_command
from django.db import connection
from django_tenants.utils import schema_exists, tenant_context

from core.errors import ValidationFailed
from core.schema import use_public_schema
from tenants import services
from tenants.models import Domain, Tenant, TenantDataKey
from tenants.services import tenant_create, tenant_delete
from tests.conftest import TenantHandle


def _nothing_left(slug: str, domain: str) -> bool:
    use_public_schema()
    return (
        not Tenant.objects.filter(slug=slug).exists()
        and not Domain.objects.filter(domain=domain).exists()
        and not TenantDataKey.objects.filter(tenant__slug=slug).exists()
        and not schema_exists(services.schema_name_for(slug))
    )


def test_it_provisions_a_tenant_with_roles_and_an_admin(alpha: TenantHandle) -> None:
    result = tenant_create(slug="gamma", name="Gamma", domain="gamma.localhost", admin_email="Boss@Gamma.test")
    assert result.admin_username == "boss@gamma.test"
    assert len(result.admin_password) >= 12
    with tenant_context(result.tenant):
        assert sorted(Group.objects.values_list("name", flat=True)) == ["Admin", "Employee", "HR", "Manager"]
        admin = User.objects.get(username="boss@gamma.test")
        assert admin.check_password(result.admin_password)
        assert list(admin.groups.values_list("name", flat=True)) == ["Admin"]
    assert TenantDataKey.objects.filter(tenant=result.tenant, is_primary=True).count() == 1


def test_it_leaves_nothing_behind_when_provisioning_fails_half_way(
    tenants: dict[str, TenantHandle],
    django_db_blocker: pytest.FixtureRequest,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    created: list[bool] = []

    def fail_after_schema(**kwargs: object) -> None:
        created.append(schema_exists("t_halfway"))
        raise RuntimeError("injected failure after the schema was cloned")

    monkeypatch.setattr(services, "_tenant_seed", fail_after_schema)
    with django_db_blocker.unblock():  # type: ignore[attr-defined]
        with pytest.raises(RuntimeError, match="injected"):
            tenant_create(slug="halfway", name="Half", domain="halfway.localhost", admin_email="a@halfway.test")
        assert created == [True]  # the failure really came after the schema existed
        assert _nothing_left("halfway", "halfway.localhost")


def test_it_refuses_a_duplicate_slug_or_domain_with_field_messages(alpha: TenantHandle) -> None:
    with pytest.raises(ValidationFailed) as duplicate_slug:
        tenant_create(slug="alpha", name="Again", domain="other.localhost", admin_email="a@b.test")
    assert "slug" in duplicate_slug.value.fields
    with pytest.raises(ValidationFailed) as duplicate_domain:
        tenant_create(slug="other", name="Other", domain="alpha.localhost", admin_email="a@b.test")
    assert "domain" in duplicate_domain.value.fields


def test_it_validates_every_field_of_a_new_tenant(alpha: TenantHandle) -> None:
    with pytest.raises(ValidationFailed) as invalid:
        tenant_create(slug="Bad Slug", name=" ", domain="not a host", admin_email="nope", timezone="Mars/Base")
    assert set(invalid.value.fields) == {"slug", "name", "domain", "admin_email", "timezone"}


def test_the_create_tenant_command_exits_non_zero_on_a_duplicate(alpha: TenantHandle) -> None:
    with pytest.raises(CommandError, match="already exists"):
        call_command(
            "create_tenant",
            slug="alpha",
            name="Dup",
            domain="dup.localhost",
            admin_email="a@dup.test",
            stdout=io.StringIO(),
        )


def test_the_create_tenant_command_prints_the_login(alpha: TenantHandle) -> None:
    out = io.StringIO()
    call_command(
        "create_tenant",
        slug="delta",
        name="Delta",
        domain="delta.localhost",
        admin_email="a@delta.test",
        admin_password="pw-delta-123",
        stdout=out,
    )
    assert "http://delta.localhost:8000/" in out.getvalue()
    assert "a@delta.test" in out.getvalue()


def test_suspend_and_list_commands_show_the_status(alpha: TenantHandle, django_capture_on_commit_callbacks) -> None:
    out = io.StringIO()
    with django_capture_on_commit_callbacks(execute=True):
        call_command("suspend_tenant", slug="alpha", stdout=out)
    call_command("list_tenants", stdout=out)
    with django_capture_on_commit_callbacks(execute=True):
        call_command("suspend_tenant", slug="alpha", resume=True, stdout=out)
    lines = out.getvalue().splitlines()
    assert lines[0] == "alpha: suspended"
    assert any(line.startswith("alpha ") and "suspended" in line and "alpha.localhost" in line for line in lines)
    assert lines[-1] == "alpha: active"
    with pytest.raises(CommandError, match="No tenant"):
        call_command("suspend_tenant", slug="missing", stdout=out)


def test_deleting_a_tenant_removes_schema_key_and_domains(alpha: TenantHandle) -> None:
    tenant_create(slug="epsilon", name="Eps", domain="epsilon.localhost", admin_email="a@eps.test")
    tenant_delete(slug="epsilon")
    assert _nothing_left("epsilon", "epsilon.localhost")


def test_migrate_tenants_skips_tenants_already_at_head(tenants: dict[str, TenantHandle], django_db_blocker) -> None:
    out = io.StringIO()
    with django_db_blocker.unblock():
        call_command("migrate_tenants", skip_public=True, stdout=out)
        count = Tenant.objects.exclude(schema_name="public").count()
    summary = out.getvalue().strip().splitlines()[-1]
    assert summary.startswith(f"{count} tenants: 0 migrated, {count} already at head")


def test_a_tenant_behind_head_is_found_and_migrated(tenants: dict[str, TenantHandle], django_db_blocker) -> None:
    from tenants.migration import tenants_behind, tenants_migrate

    schema = tenants["beta"].tenant.schema_name
    with django_db_blocker.unblock():
        with connection.cursor() as cursor:
            cursor.execute(
                f"DELETE FROM {schema}.django_migrations "
                "WHERE app = 'authtoken' AND name = '0004_alter_tokenproxy_options'"
            )
        assert tenants_behind([schema, tenants["alpha"].tenant.schema_name]) == [schema]
        report = tenants_migrate(processes=1, include_public=False)
        assert report.migrated == [schema]
        assert tenants_behind([schema]) == []


@pytest.mark.slow
def test_tenants_behind_head_are_migrated_in_parallel_processes(
    tenants: dict[str, TenantHandle], django_db_blocker
) -> None:
    from tenants.migration import tenants_behind, tenants_migrate

    schemas = [handle.tenant.schema_name for handle in tenants.values()]
    with django_db_blocker.unblock():
        with connection.cursor() as cursor:
            for schema in schemas:
                cursor.execute(
                    f"DELETE FROM {schema}.django_migrations "
                    "WHERE app = 'authtoken' AND name = '0004_alter_tokenproxy_options'"
                )
        assert sorted(tenants_behind(schemas)) == sorted(schemas)
        seen: list[str] = []
        report = tenants_migrate(processes=2, include_public=False, progress=seen.append)
        assert sorted(report.migrated) == sorted(schemas) == sorted(seen)
        assert tenants_behind(schemas) == []
