"""Runs in a separate process (spawned): fail the tenant's model a few times and report the shared breaker state.

No Django import at module level: the child sets Django up itself before touching the app.
"""

from __future__ import annotations

import os
from typing import Any


def child_fail(schema: str, times: int, fail_max: int, reset_seconds: int, results: Any) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hrms.settings_test")
    import django

    django.setup()
    from django.conf import settings
    from django.db import connection

    from intelligence.predictor import PredictorUnavailable, breaker_state, predict_guarded
    from tests.intelligence.ml_support import _features, failing_bundle

    settings.ML_BREAKER_FAIL_MAX = fail_max
    settings.ML_BREAKER_RESET_SECONDS = reset_seconds
    connection.set_schema(schema)  # type: ignore[attr-defined]  # no query: the breaker lives in Redis
    outcomes = []
    bundle = failing_bundle()
    for _ in range(times):
        try:
            predict_guarded(bundle, _features(5))
            outcomes.append("ok")
        except PredictorUnavailable as exc:
            outcomes.append("open" if "breaker is open" in exc.message else "failed")
    results.put((outcomes, breaker_state(schema).state))
