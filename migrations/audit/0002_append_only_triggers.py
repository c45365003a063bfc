"""UPDATE, DELETE and TRUNCATE on the audit table are rejected by triggers (in every schema)."""

from django.db import migrations

CREATE = """
CREATE TRIGGER audit_event_no_update_delete BEFORE UPDATE OR DELETE ON audit_auditevent
    FOR EACH ROW EXECUTE FUNCTION public.audit_reject_mutation();
CREATE TRIGGER audit_event_no_truncate BEFORE TRUNCATE ON audit_auditevent
    FOR EACH STATEMENT EXECUTE FUNCTION public.audit_reject_mutation();
"""
DROP = """
DROP TRIGGER IF EXISTS audit_event_no_update_delete ON audit_auditevent;
DROP TRIGGER IF EXISTS audit_event_no_truncate ON audit_auditevent;
"""


class Migration(migrations.Migration):
    dependencies = [("audit", "0001_initial"), ("tenants", "0002_audit_append_only_function")]
    operations = [migrations.RunSQL(CREATE, DROP)]
