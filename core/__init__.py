"""The bottom layer every app shares: errors, pagination, fields, query validation, the replica router, metrics, the
ML budget, tenant schema and time-zone helpers, role checks and the UI page helpers. Imports no app of ours."""
