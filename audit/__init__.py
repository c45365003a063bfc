"""Tamper-evident audit trail: a hash chain per schema, verification and signed checkpoints."""
