"""The Employees page: personal data masked until one value is revealed on purpose (audited), search and sort."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

from django.test import Client
from django_tenants.utils import tenant_context

from audit.models import AuditEvent
from tests.conftest import PASSWORD, TenantHandle, make_user
from tests.timesheets.factories import make_employee


def _client(handle: TenantHandle, role: str) -> Client:
    username = f"{role.lower()}-{uuid.uuid4().hex[:6]}@{handle.tenant.slug}.test"
    make_user(handle, username, role)
    client = handle.client()
    assert client.post("/login", {"username": username, "password": PASSWORD}).status_code == 302
    return client


def _text(response: Any) -> str:
    return str(response.content.decode())


def test_personal_data_is_masked_until_hr_reveals_one_value_which_is_audited(alpha: TenantHandle) -> None:
    grace = make_employee(alpha, name="Grace Hopper", national_id="NI-424242", salary=Decimal("91000.00"))
    hr = _client(alpha, "HR")
    page = _text(hr.get("/employees"))
    assert "Grace Hopper" in page
    assert "NI-424242" not in page
    assert "91000" not in page
    with tenant_context(alpha.tenant):
        before = AuditEvent.objects.filter(action="employee.reveal").count()
    revealed = _text(hr.post(f"/employees/{grace.id}/reveal", {"field": "national_id", "next": "/employees"}))
    assert '<span class="pii-revealed">NI-424242</span>' in revealed
    assert "91000" not in revealed  # only the one value asked for
    with tenant_context(alpha.tenant):
        events = AuditEvent.objects.filter(action="employee.reveal").order_by("-sequence")
        assert events.count() == before + 1
        assert events[0].object_id == str(grace.id)
        assert events[0].data == {"field": "national_id"}
    fragment = hr.post(f"/employees/{grace.id}/reveal", {"field": "salary"}, HTTP_HX_REQUEST="true")
    assert _text(fragment) == '<span class="pii-revealed">91000.00</span>'


def test_reveal_is_refused_to_employees_and_for_unknown_fields(alpha: TenantHandle) -> None:
    grace = make_employee(alpha, name="Grace Hopper", national_id="NI-777")
    employee = _client(alpha, "Employee")
    response = employee.post(f"/employees/{grace.id}/reveal", {"field": "national_id"}, follow=True)
    assert "NI-777" not in _text(response)
    assert "needs the HR or Admin role" in _text(response)
    hr = _client(alpha, "HR")
    response = hr.post(f"/employees/{grace.id}/reveal", {"field": "password"}, follow=True)
    assert "One of: national_id, bank_account, salary." in _text(response)
    assert hr.post(f"/employees/{uuid.uuid4()}/reveal", {"field": "salary"}, follow=True).status_code == 200


def test_the_list_is_searched_by_name_or_email_and_sorted(alpha: TenantHandle) -> None:
    make_employee(alpha, name="Alan Fischer", email="alan.fischer@alpha.test", weekly_hours=Decimal("20.0"))
    make_employee(alpha, name="Alan Fischer", email="a.fischer2@alpha.test", weekly_hours=Decimal("40.0"))
    make_employee(alpha, name="Zoe Young", email="zoe@alpha.test", weekly_hours=Decimal("30.0"))
    hr = _client(alpha, "HR")
    page = _text(hr.get("/employees?q=fischer"))
    assert "2 employees matching" in page
    assert "Zoe Young" not in page
    assert "alan.fischer@alpha.test" in page
    assert "a.fischer2@alpha.test" in page
    page = _text(hr.get("/employees?q=zoe@"))
    assert "Zoe Young" in page
    assert "Alan Fischer" not in page
    by_hours = _text(hr.get("/employees?sort=hours&dir=desc"))
    assert (
        by_hours.index("a.fischer2@alpha.test")
        < by_hours.index("zoe@alpha.test")
        < by_hours.index("alan.fischer@alpha.test")
    )
    assert 'aria-sort="descending"' in by_hours
