"""One view: a row of the public tenant table by primary key, as JSON."""

from __future__ import annotations

from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.urls import path


def tenant_row(request: HttpRequest, tenant_id: str) -> JsonResponse:
    with connection.cursor() as cursor:
        cursor.execute("SELECT id, slug, name FROM tenants_tenant WHERE id = %s", [tenant_id])
        row = cursor.fetchone()
    if row is None:
        return JsonResponse({"detail": "not found"}, status=404)
    return JsonResponse({"id": str(row[0]), "slug": row[1], "name": row[2]})


urlpatterns = [path("row/<uuid:tenant_id>", tenant_row)]
