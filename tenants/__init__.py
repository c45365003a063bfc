"""Public-schema tenancy: tenants, domains, resolution, provisioning and per-tenant data keys."""
