"""The cached pending-suggestions pages: their namespace in the tenant cache and the one way to forget them.

Every write that changes what a pending page shows (a decision, generation, a renamed employee or project,
new Jira evidence, a demo seed) calls `suggestions_cache_invalidate`; nothing else names the namespace but
the page that fills it.
"""

from __future__ import annotations

from django.db import transaction

from tenants.cache import tenant_cache_invalidate

SUGGESTIONS_CACHE_NAMESPACE = "suggestions"


def suggestions_cache_invalidate() -> None:
    """Forget cached pending-suggestion pages now, and again once the transaction commits.

    The second bump closes the window in which a concurrent reader could cache what it read before our
    commit; the first makes the change visible to readers inside the same transaction (and to tests).
    """
    tenant_cache_invalidate(namespace=SUGGESTIONS_CACHE_NAMESPACE)
    transaction.on_commit(lambda: tenant_cache_invalidate(namespace=SUGGESTIONS_CACHE_NAMESPACE))
