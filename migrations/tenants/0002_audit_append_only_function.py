"""The trigger function that keeps every schema's audit table append-only (lives in public, used by all)."""

from django.db import migrations

CREATE = """
CREATE OR REPLACE FUNCTION public.audit_reject_mutation() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit events are append-only: % rejected on %.%', TG_OP, TG_TABLE_SCHEMA, TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege';
END;
$$;
"""
DROP = "DROP FUNCTION IF EXISTS public.audit_reject_mutation() CASCADE;"


class Migration(migrations.Migration):
    dependencies = [("tenants", "0001_initial")]
    operations = [migrations.RunSQL(CREATE, DROP)]
