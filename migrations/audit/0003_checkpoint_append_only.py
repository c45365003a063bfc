"""UPDATE, DELETE and TRUNCATE on the signed checkpoints are rejected too: deleting them would let a rewritten
chain pass verification (the table lives in every schema; only public's holds rows, and new tenants get the
triggers with the rest of the cloned structure)."""

from django.db import migrations

CREATE = """
CREATE TRIGGER audit_checkpoint_no_update_delete BEFORE UPDATE OR DELETE ON audit_auditcheckpoint
    FOR EACH ROW EXECUTE FUNCTION public.audit_reject_mutation();
CREATE TRIGGER audit_checkpoint_no_truncate BEFORE TRUNCATE ON audit_auditcheckpoint
    FOR EACH STATEMENT EXECUTE FUNCTION public.audit_reject_mutation();
"""
DROP = """
DROP TRIGGER IF EXISTS audit_checkpoint_no_update_delete ON audit_auditcheckpoint;
DROP TRIGGER IF EXISTS audit_checkpoint_no_truncate ON audit_auditcheckpoint;
"""


class Migration(migrations.Migration):
    dependencies = [("audit", "0002_append_only_triggers")]
    operations = [migrations.RunSQL(CREATE, DROP)]
