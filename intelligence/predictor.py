"""The only code that calls a learned model: one vectorized predict per chunk, behind the tenant's circuit breaker.

`ModelBundle` is what a training run stores (the fitted regressor and calibrated classifier with the feature
statistics the explanations need). `predict_guarded` runs one bundle on one chunk's feature matrix through
the tenant's pybreaker breaker, whose state lives in Redis (`CircuitRedisStorage`, one namespace per tenant),
so every web and worker process sees the same state and one tenant's broken model never opens another
tenant's breaker. Invalid input (a wrong feature layout, non-finite values) is the caller's bug, not the
model's: it raises `InvalidPredictorInput`, which the breaker does not count. A call slower than its time
budget counts as a failure. When the breaker is open or the call fails, callers fall back to the rules engine.

Redis down: `CircuitRedisStorage` answers its fallback state, closed, and cannot count failures; every call
still runs the model, and a failing call still falls back to the rules engine for that chunk.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np
import numpy.typing as npt
import pybreaker
from django.conf import settings
from django_redis import get_redis_connection
from redis.exceptions import RedisError
from threadpoolctl import threadpool_limits

from core.errors import ApplicationError
from core.schema import current_schema
from core.ttlcache import TtlCache
from intelligence.features import FEATURE_NAMES, F, FloatArray, IntArray
from intelligence.registry import ArtifactRef, ArtifactUnavailable, LoadedModel, active_ref, model_load
from intelligence.rules import split_groups

logger = logging.getLogger(__name__)

TOP_FEATURES = 2
# A candidate becomes a suggestion if the model gives it at least this probability (or it is the day's likeliest).
KEEP_PROBABILITY = 0.5
MIN_WEIGHT = 0.05


class InvalidPredictorInput(ApplicationError):
    """The feature matrix does not fit the model: a caller's bug, excluded from the breaker's failure count."""

    code = "invalid_predictor_input"


class PredictionTooSlow(ApplicationError):
    status = 503
    code = "prediction_too_slow"


class PredictorUnavailable(ApplicationError):
    """The breaker is open, or the call failed: the rules engine answers."""

    status = 503
    code = "predictor_unavailable"


@dataclass
class ModelBundle:
    """A trained model as stored in an artifact: estimators plus what explanations and checks need."""

    regressor: Any  # predicts the share of the attended hours spent on the candidate's project
    classifier: Any  # calibrated: P(the project is in the employee's confirmed timesheet that day)
    feature_names: tuple[str, ...]
    feature_mean: FloatArray
    feature_scale: FloatArray
    importance: FloatArray  # permutation importance of each feature for the hours model (>= 0)
    version: int = 0
    trained_at: str = ""
    # Maps the classifier's probability to P(the suggestion lands within a quarter hour of the confirmed
    # hours), fitted on the holdout (an IsotonicRegression); None for bundles stored before it existed.
    calibrator: Any = None

    def check(self, X: FloatArray) -> None:
        if X.ndim != 2 or X.shape[1] != len(self.feature_names):
            raise InvalidPredictorInput(f"Expected {len(self.feature_names)} features per row, got shape {X.shape}.")
        if tuple(self.feature_names) != FEATURE_NAMES:
            raise InvalidPredictorInput("The model was trained on another feature layout; retrain it.")
        if not np.isfinite(X).all():
            raise InvalidPredictorInput("The feature matrix has non-finite values.")


@dataclass
class Prediction:
    hours: FloatArray  # per candidate: share x attended hours
    confidence: FloatArray  # per candidate: P(the suggestion lands within a quarter hour), when calibrated
    top_features: IntArray  # (rows x TOP_FEATURES) feature indices, strongest first
    seconds: float = 0.0
    # Per candidate: P(the project is in the day's confirmed timesheet), which decides what is suggested.
    presence: FloatArray | None = None

    @property
    def keep_score(self) -> FloatArray:
        """What `suggestion_hours` keeps candidates by: presence when known, else the confidence."""
        return self.presence if self.presence is not None else self.confidence


def ml_threads() -> threadpool_limits:
    """OpenMP threads for scikit-learn's fit and predict: spinning threads on a busy machine cost more than
    they bring (measured 20x slower fits with two threads under a load of 6 on two cores), so one by default.
    """
    return threadpool_limits(limits=settings.ML_THREADS, user_api="openmp")


def predict_bundle(bundle: ModelBundle, X: FloatArray) -> Prediction:
    """One vectorized pass over a whole chunk (no breaker): hours, confidence and top features per row."""
    began = time.perf_counter()
    bundle.check(X)
    if len(X) == 0:
        return Prediction(
            np.zeros(0, dtype=np.float32), np.zeros(0, dtype=np.float32), np.zeros((0, TOP_FEATURES), dtype=np.int64)
        )
    with ml_threads():
        share = np.clip(np.asarray(bundle.regressor.predict(X), dtype=np.float32), 0.0, 1.0)
        presence = np.clip(np.asarray(bundle.classifier.predict_proba(X)[:, 1], dtype=np.float32), 0.0, 1.0)
        calibrator = getattr(bundle, "calibrator", None)
        confidence = presence
        if calibrator is not None:
            confidence = np.asarray(calibrator.predict(presence), dtype=np.float32)
    # Which features pushed this row furthest from the typical one, weighted by how much the model relies on them.
    strength = np.abs((X - bundle.feature_mean) / bundle.feature_scale) * bundle.importance
    top = np.argpartition(-strength, TOP_FEATURES - 1, axis=1)[:, :TOP_FEATURES]
    order = np.argsort(-np.take_along_axis(strength, top, axis=1), axis=1)
    top = np.take_along_axis(top, order, axis=1)
    hours = share * X[:, F["attended_hours"]]
    return Prediction(
        hours, np.clip(confidence, 0.0, 1.0), top.astype(np.int64), time.perf_counter() - began, presence=presence
    )


# The breaker -------------------------------------------------------------------------------------------------


def breaker_namespace(schema: str) -> str:
    return f"{settings.CACHE_KEY_PREFIX}:ml-breaker:{schema}"


class _TolerantRedisStorage(pybreaker.CircuitRedisStorage):
    """CircuitRedisStorage whose first write (at construction) survives Redis being down, like all the others."""

    def _initialize_redis_state(self, state: str) -> None:
        try:
            super()._initialize_redis_state(state)
        except RedisError:
            logger.warning("Redis is unreachable: the model's breaker reads its fallback state (closed)")


# The breaker objects of this process; their state lives in Redis, so forgetting one loses nothing.
_breakers: TtlCache[str, pybreaker.CircuitBreaker] = TtlCache("ml-breakers", maxsize=10_000, ttl=None)


def _breaker_new(schema: str) -> pybreaker.CircuitBreaker:
    storage = _TolerantRedisStorage(
        pybreaker.STATE_CLOSED, get_redis_connection("default"), namespace=breaker_namespace(schema)
    )
    return pybreaker.CircuitBreaker(
        fail_max=settings.ML_BREAKER_FAIL_MAX,
        reset_timeout=settings.ML_BREAKER_RESET_SECONDS,
        exclude=[InvalidPredictorInput],
        state_storage=storage,
        name=f"ml:{schema}",
    )


def breaker_for(schema: str) -> pybreaker.CircuitBreaker:
    """The tenant's breaker; its state lives in Redis, shared by every process."""
    return _breakers.get_or_put(schema, lambda: _breaker_new(schema))


@dataclass(frozen=True)
class BreakerState:
    state: str  # "closed", "open", "half-open" or "unknown" (Redis unreachable)
    failures: int
    opened_at: str | None
    fail_max: int
    reset_timeout_seconds: int


def breaker_state(schema: str | None = None) -> BreakerState:
    """The tenant's breaker as every process sees it; "unknown" when Redis cannot be asked."""
    schema = schema or current_schema()
    breaker = breaker_for(schema)

    def key(name: str) -> str:  # CircuitRedisStorage's own key layout
        return f"{breaker_namespace(schema)}:pybreaker:{name}"

    try:
        redis = get_redis_connection("default")
        raw = redis.get(key("state"))
        failures = int(redis.get(key("fail_counter")) or 0)
        opened_raw = redis.get(key("opened_at"))
    except Exception:  # Redis down: nobody knows the shared state
        return BreakerState("unknown", 0, None, breaker.fail_max, int(breaker.reset_timeout))
    state = raw.decode() if raw is not None else pybreaker.STATE_CLOSED
    opened = datetime.fromtimestamp(int(opened_raw), tz=UTC).isoformat() if opened_raw else None
    return BreakerState(
        state=state,
        failures=failures,
        opened_at=opened if state != pybreaker.STATE_CLOSED else None,
        fail_max=breaker.fail_max,
        reset_timeout_seconds=int(breaker.reset_timeout),
    )


def predict_guarded(bundle: ModelBundle, X: FloatArray, *, budget_seconds: float | None = None) -> Prediction:
    """`predict_bundle` through the tenant's breaker; PredictorUnavailable when it is open or the call fails.

    InvalidPredictorInput passes through untouched (and uncounted).
    """
    budget = settings.ML_PREDICT_BUDGET_SECONDS if budget_seconds is None else budget_seconds
    breaker = breaker_for(current_schema())

    def guarded() -> Prediction:
        prediction = predict_bundle(bundle, X)
        if prediction.seconds > budget:
            raise PredictionTooSlow(f"Prediction took {prediction.seconds:.2f} s, over its {budget:.2f} s budget.")
        return prediction

    try:
        result: Prediction = breaker.call(guarded)
    except InvalidPredictorInput:
        raise
    except pybreaker.CircuitBreakerError as exc:
        raise PredictorUnavailable(f"The model's circuit breaker is open: {exc}") from exc
    except Exception as exc:
        logger.warning("model prediction failed for %s: %s", current_schema(), exc)
        raise PredictorUnavailable(f"The model failed: {type(exc).__name__}: {exc}") from exc
    return result


# The active model of the tenant -------------------------------------------------------------------------------


@dataclass
class ActivePredictor:
    """The tenant's active model for one generation run; `None` from `predictor_active` means rules only."""

    ref: ArtifactRef
    bundle: ModelBundle
    failures: list[str] = field(default_factory=list)

    @property
    def version(self) -> int:
        return self.ref.version

    def predict(self, X: FloatArray) -> Prediction | None:
        """A prediction, or None when the rules engine must answer (breaker open, model failed, bad input)."""
        try:
            return predict_guarded(self.bundle, X)
        except PredictorUnavailable as exc:
            self.failures.append(exc.message)
        except InvalidPredictorInput as exc:
            logger.error("the features do not fit model v%s: %s", self.version, exc.message)
            self.failures.append(exc.message)
        except Exception as exc:  # generation never fails because ML failed
            logger.exception("the predictor failed outside its breaker")
            self.failures.append(f"{type(exc).__name__}: {exc}")
        return None


def predictor_active() -> ActivePredictor | None:
    """One small query when no model is active; the artifact is read once per process and version."""
    ref = active_ref()
    if ref is None:
        return None
    try:
        loaded: LoadedModel = model_load(ref)
    except ArtifactUnavailable:
        return None
    if not isinstance(loaded.bundle, ModelBundle):
        return None
    return ActivePredictor(ref=ref, bundle=loaded.bundle)


# From predictions to suggestions ----------------------------------------------------------------------------


def suggestion_hours(
    *,
    day_group: IntArray,
    hours: FloatArray,
    confidence: FloatArray,
    remaining_c: IntArray,
    granularity_c: int,
) -> npt.NDArray[np.int64]:
    """Hours (hundredths) to suggest per candidate row: 0 for the ones left out.

    Within each employee-day (`day_group`), candidates the model finds likely (or the day's likeliest) share
    the day's remaining hours in proportion to their predicted hours.
    """
    n = len(day_group)
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    best = np.full(int(day_group.max()) + 1, -1.0, dtype=np.float64)
    np.maximum.at(best, day_group, confidence.astype(np.float64))
    keep = (confidence >= KEEP_PROBABILITY) | (confidence >= best[day_group])
    weight = np.where(keep, np.maximum(hours, MIN_WEIGHT), 0.0)
    kept = np.flatnonzero(keep)
    result = np.zeros(n, dtype=np.int64)
    result[kept] = split_groups(day_group[kept], weight[kept], remaining_c[kept], granularity_c=granularity_c)
    return result


_PHRASES: dict[str, str] = {
    "weekday": "weekday",
    "attended_hours": "{v:.1f}h attended",
    "share_2w": "{p:.0f}% of hours over 2 wks",
    "share_4w": "{p:.0f}% of hours over 4 wks",
    "share_8w": "{p:.0f}% of hours over 8 wks",
    "weekday_share_8w": "{p:.0f}% of this weekday's hours",
    "weekday_avg_hours_8w": "{v:.1f}h on this weekday",
    "weekday_weeks_8w": "{v:.0f} of 8 same weekdays",
    "days_since_last": "last worked {v:.0f}d before",
    "logged_hours": "{v:.2g}h logged today",
    "logged_share": "{p:.0f}% of today's Jira time",
    "logged_total_ratio": "Jira covers {p:.0f}% of the day",
    "logged_hours_prev_week": "{v:.1f}h logged last week",
    "logged_share_prev_week": "{p:.0f}% of last week's Jira time",
    "open_issues": "{v:.0f} open issues",
    "open_issues_total": "{v:.0f} open issues in all",
    "candidates": "{v:.0f} candidate projects",
    "history_days_8w": "{v:.0f} confirmed days in 8 wks",
    "project_age_days": "project {v:.0f}d old",
    "project_days_to_end": "{v:.0f}d to project end",
}


def explain(row: FloatArray, top: IntArray, *, version: int) -> str:
    """`model v3: 62% of hours over 4 wks, 3h logged today`."""
    parts = []
    for index in top:
        name = FEATURE_NAMES[int(index)]
        value = float(row[int(index)])
        parts.append(_PHRASES.get(name, name).format(v=value, p=100 * value))
    return f"model v{version}: " + ", ".join(parts)
