"""Training a tenant's model from confirmed outcomes, and scoring it against the rules engine on a time holdout.

Labels come only from what people confirmed: accepted allocations (accepted or auto-accepted suggestions,
corrected hours, manual entries) and rejected suggestions. A labelled employee-day is one with allocations
or a rejection; each candidate of such a day is labelled with its accepted hours (0 when none).

The last `HOLDOUT_DAYS` of labelled history are the holdout. Its features are built with its own allocations
hidden, as generation sees a period it has not been told about yet, and on it both the model and the rules
engine produce the suggestions they would make; hours MAE and acceptance log-loss compare them. The
classifier is calibrated (isotonic) on the two weeks just before the holdout, so the holdout measures
calibration honestly too.
"""

from __future__ import annotations

import itertools
import math
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import numpy as np
import sklearn
from django.db import connection
from sklearn.calibration import CalibratedClassifierCV
from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
from sklearn.frozen import FrozenEstimator
from sklearn.inspection import permutation_importance
from sklearn.isotonic import IsotonicRegression

from intelligence.features import (
    FEATURE_NAMES,
    Candidates,
    ChunkRecords,
    F,
    FloatArray,
    IntArray,
    ProjectTable,
    arrays_build,
    candidates_build,
    records_load,
)
from intelligence.history import WINDOW_DAYS, Mix, MixKey, mixes_from_rows
from intelligence.predictor import ModelBundle, ml_threads, predict_bundle, suggestion_hours
from intelligence.rules import DEFAULT_GRANULARITY, DaySignals, PatternSignal, allocate_day
from timesheets.models import Employee, ProjectAllocationSuggestion, SuggestionStatus, TimesheetProjectAllocation

TRAIN_DAYS = 90
HOLDOUT_DAYS = 14
CALIBRATION_DAYS = 14
CHUNK_SIZE = 500
MIN_TRAIN_ROWS = 200
MIN_HOLDOUT_ROWS = 50
# Log-loss needs a probability for every candidate: the rules engine's confidence where it proposed the
# project, 0 where it did not; both sides are clipped to this range so one certain miss is not infinite.
PROBABILITY_CLIP = 0.01
GRANULARITY_C = int(DEFAULT_GRANULARITY * 100)

Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class Window:
    data_start: date
    holdout_start: date
    data_end: date


@dataclass
class Part:
    """Labelled candidate rows of one side of the split, across all chunks."""

    X: list[FloatArray] = field(default_factory=list)
    hours: list[FloatArray] = field(default_factory=list)
    day_key: list[IntArray] = field(default_factory=list)  # a global employee-day number per row
    day: list[IntArray] = field(default_factory=list)  # days since the window's data_start
    rules_hours: list[FloatArray] = field(default_factory=list)
    rules_confidence: list[FloatArray] = field(default_factory=list)

    def matrix(self) -> FloatArray:
        return np.concatenate(self.X) if self.X else np.zeros((0, len(FEATURE_NAMES)), dtype=np.float32)

    def column(self, name: str) -> Any:
        values = getattr(self, name)
        return np.concatenate(values) if values else np.zeros(0)


@dataclass
class Dataset:
    window: Window
    train: Part
    holdout: Part
    employee_days: int = 0
    employees: int = 0


def training_window(*, as_of: date | None = None) -> Window | None:
    """The last TRAIN_DAYS of confirmed outcomes, the last HOLDOUT_DAYS of them held out; None without any."""
    allocations = TimesheetProjectAllocation.objects.all()
    rejected = ProjectAllocationSuggestion.objects.filter(status=SuggestionStatus.REJECTED)
    if as_of is not None:
        allocations, rejected = allocations.filter(date__lte=as_of), rejected.filter(date__lte=as_of)
    ends = [d for d in (allocations.order_by("-date").values_list("date", flat=True).first(),) if d is not None]
    ends += [d for d in (rejected.order_by("-date").values_list("date", flat=True).first(),) if d is not None]
    if not ends:
        return None
    data_end = max(ends)
    return Window(
        data_start=data_end - timedelta(days=TRAIN_DAYS - 1),
        holdout_start=data_end - timedelta(days=HOLDOUT_DAYS - 1),
        data_end=data_end,
    )


def _employee_chunks(chunk_size: int) -> Iterator[list[uuid.UUID]]:
    chunk: list[uuid.UUID] = []
    for employee_id in Employee.objects.order_by("id").values_list("id", flat=True).iterator(chunk_size=chunk_size):
        chunk.append(employee_id)
        if len(chunk) == chunk_size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


@dataclass(frozen=True)
class MixLookup:
    """The employees' recent mixes as generation would see them at the holdout's start (intelligence/history.py)."""

    mixes: dict[MixKey, dict[str, Mix]]
    employee_ids: list[uuid.UUID]
    projects: ProjectTable

    def pattern(self, employee: int, project: int, weekday: int) -> PatternSignal | None:
        mix = self.mixes.get((str(self.employee_ids[employee]), weekday), {}).get(str(self.projects.ids[project]))
        return None if mix is None else PatternSignal(mix.hours, mix.weeks_observed, mix.share_sd)


def holdout_mixes(records: ChunkRecords, projects: ProjectTable, holdout_start: date) -> MixLookup:
    """The mixes from the allocations of the history window before the holdout, as generation computes them."""
    a_emp, a_proj, a_day, a_hours = records.allocations
    first = holdout_start - timedelta(days=WINDOW_DAYS)
    low, high = (first - records.first).days, (holdout_start - records.first).days
    keep = np.flatnonzero((a_day >= low) & (a_day < high))
    rows = [
        (
            str(records.employee_ids[int(a_emp[i])]),
            str(projects.ids[int(a_proj[i])]),
            first + timedelta(days=int(a_day[i]) - low),
            float(a_hours[i]),
        )
        for i in keep.tolist()
    ]
    return MixLookup(mixes_from_rows(rows, first=first, days=WINDOW_DAYS), records.employee_ids, projects)


def rules_on_candidates(
    candidates: Candidates, day_key: IntArray, mixes: MixLookup | None = None
) -> tuple[FloatArray, FloatArray]:
    """What the rules engine proposes for each candidate row (hours, confidence; 0 where it proposes nothing).

    It sees what generation would give it: attendance, Jira logged that day, open issues, and the employee's
    recent mix as of the holdout's start (`mixes`; without it, the weekday pattern of the features).
    """
    n = len(candidates)
    hours = np.zeros(n, dtype=np.float32)
    confidence = np.zeros(n, dtype=np.float32)
    if n == 0:
        return hours, confidence
    order = np.argsort(day_key, kind="stable")
    keys = day_key[order]
    bounds = np.flatnonzero(np.r_[True, keys[1:] != keys[:-1], True])
    X = candidates.X
    for lo, hi in itertools.pairwise(bounds.tolist()):
        rows = order[lo:hi]
        logged: dict[int, int] = {}
        issues: dict[int, int] = {}
        patterns: dict[int, PatternSignal] = {}
        for row in rows.tolist():
            seconds = round(float(X[row, F["logged_hours"]]) * 3600)
            if seconds > 0:
                logged[row] = seconds
            count = int(X[row, F["open_issues"]])
            if count > 0:
                issues[row] = count
            if mixes is not None:
                weekday = int(X[row, F["weekday"]])
                found = mixes.pattern(int(candidates.employee[row]), int(candidates.project[row]), weekday)
                if found is not None:
                    patterns[row] = found
                continue
            weeks = int(candidates.pattern_weeks[row])
            if weeks > 0:
                patterns[row] = PatternSignal(float(candidates.pattern_hours[row]), weeks)
        attended = Decimal(f"{float(X[rows[0], F['attended_hours']]):.2f}")
        signals = DaySignals(attended_hours=attended, logged_seconds=logged, open_issues=issues, patterns=patterns)
        for split in allocate_day(signals).splits:
            hours[split.project] = float(split.hours)
            confidence[split.project] = split.confidence
    return hours, confidence


def dataset_build(*, window: Window, chunk_size: int = CHUNK_SIZE, on_progress: Progress | None = None) -> Dataset:
    """Stream employees in chunks: five queries and a few array passes per chunk, never a query per row."""
    projects = ProjectTable.load()
    data = Dataset(window=window, train=Part(), holdout=Part())
    total = Employee.objects.count()
    done = 0
    span = (window.data_end - window.data_start).days + 1
    for employee_ids in _employee_chunks(chunk_size):
        records = records_load(
            employee_ids=employee_ids, start=window.data_start, end=window.data_end, projects=projects
        )
        base = data.employees
        sides = (
            (data.train, arrays_build(records, projects), window.data_start, window.holdout_start - timedelta(days=1)),
            (data.holdout, arrays_build(records, projects, hide_from=window.holdout_start), window.holdout_start, None),
        )
        for part, arrays, first, last in sides:
            candidates = candidates_build(arrays, projects, first_day=first, last_day=last or window.data_end)
            candidates = candidates.subset(candidates.labelled)
            day = (candidates.day - records.offset).astype(np.int64)
            day_key = (base + candidates.employee) * span + day
            part.X.append(candidates.X)
            part.hours.append(candidates.label_hours)
            part.day_key.append(day_key)
            part.day.append(day)
            if part is data.holdout:
                mixes = holdout_mixes(records, projects, window.holdout_start)
                rules_hours, rules_confidence = rules_on_candidates(candidates, day_key, mixes)
                part.rules_hours.append(rules_hours)
                part.rules_confidence.append(rules_confidence)
            data.employee_days += len(np.unique(day_key))
        data.employees += len(employee_ids)
        done += len(employee_ids)
        if on_progress is not None:
            on_progress(done, total)
    return data


# Fitting ------------------------------------------------------------------------------------------------------


def _share(hours: FloatArray, X: FloatArray) -> FloatArray:
    attended = X[:, F["attended_hours"]]
    out = np.zeros_like(hours, dtype=np.float32)
    np.divide(hours, attended, out=out, where=attended > 0)
    return np.clip(out, 0.0, 1.0)


class ConstantClassifier:
    """The acceptance "classifier" of a history where every candidate was accepted (or every one refused)."""

    def __init__(self, probability: float) -> None:
        self.probability = probability

    def predict_proba(self, X: FloatArray) -> FloatArray:
        out = np.empty((len(X), 2), dtype=np.float32)
        out[:, 1] = self.probability
        out[:, 0] = 1.0 - self.probability
        return out


def model_fit(train: Part, *, calibration_from_day: int, seed: int = 0) -> ModelBundle:
    """Fit the hours regressor and the calibrated acceptance classifier on the training part."""
    with ml_threads():
        return _fit(train, calibration_from_day=calibration_from_day, seed=seed)


def _fit(train: Part, *, calibration_from_day: int, seed: int) -> ModelBundle:
    X = train.matrix()
    hours = train.column("hours").astype(np.float32)
    day = train.column("day")
    accepted = (hours > 0).astype(np.int64)
    # Few, shallow-ish trees: prediction cost grows with their number and the batch rate is a target.
    regressor = HistGradientBoostingRegressor(
        max_iter=40, learning_rate=0.25, max_leaf_nodes=31, min_samples_leaf=20, l2_regularization=1.0,
        early_stopping=False, random_state=seed,
    )  # fmt: skip
    regressor.fit(X, _share(hours, X))
    fit_rows = day < calibration_from_day
    calibration_rows = ~fit_rows
    base = HistGradientBoostingClassifier(
        max_iter=30, learning_rate=0.25, max_leaf_nodes=15, min_samples_leaf=20, l2_regularization=1.0,
        early_stopping=False, random_state=seed,
    )  # fmt: skip
    enough = (
        calibration_rows.sum() >= 100
        and len(np.unique(accepted[calibration_rows])) == 2
        and len(np.unique(accepted[fit_rows])) == 2
    )
    classifier: Any
    if min(int(accepted.sum()), int(len(accepted) - accepted.sum())) < 3:  # (nearly) all went one way
        classifier = ConstantClassifier(float(accepted.mean()) if len(accepted) else 0.0)
    elif enough:
        base.fit(X[fit_rows], accepted[fit_rows])
        classifier = CalibratedClassifierCV(FrozenEstimator(base), method="isotonic")
        classifier.fit(X[calibration_rows], accepted[calibration_rows])
    else:  # too little recent history for a time-based calibration split: cross-fitted calibration instead
        classifier = CalibratedClassifierCV(base, method="isotonic", cv=3).fit(X, accepted)
    mean = X.mean(axis=0).astype(np.float32)
    scale = X.std(axis=0).astype(np.float32)
    scale[scale < 1e-6] = 1.0
    rng = np.random.default_rng(seed)
    sample = rng.choice(len(X), size=min(len(X), 4000), replace=False)
    importance = permutation_importance(
        regressor, X[sample], _share(hours[sample], X[sample]), n_repeats=2, random_state=seed
    ).importances_mean
    return ModelBundle(
        regressor=regressor,
        classifier=classifier,
        feature_names=FEATURE_NAMES,
        feature_mean=mean,
        feature_scale=scale,
        importance=np.clip(np.asarray(importance, dtype=np.float32), 0.0, None),
    )


# Scoring ------------------------------------------------------------------------------------------------------


def expected_calibration_error(probability: FloatArray, outcome: IntArray, *, bins: int = 10) -> float:
    if len(probability) == 0:
        return 0.0
    edges = np.minimum((probability * bins).astype(np.int64), bins - 1)
    total = 0.0
    for b in range(bins):
        in_bin = edges == b
        if in_bin.any():
            total += abs(float(probability[in_bin].mean()) - float(outcome[in_bin].mean())) * int(in_bin.sum())
    return total / len(probability)


def _log_loss(probability: FloatArray, outcome: IntArray) -> float:
    p = np.clip(probability.astype(np.float64), PROBABILITY_CLIP, 1 - PROBABILITY_CLIP)
    return float(-np.mean(outcome * np.log(p) + (1 - outcome) * np.log(1 - p))) if len(p) else math.nan


RIGHT_WITHIN_HOURS = 0.25


def _right(hours: FloatArray, truth: FloatArray) -> IntArray:
    """A suggestion is right when it lands within a quarter hour of the confirmed hours."""
    right: IntArray = (np.abs(hours - truth) <= RIGHT_WITHIN_HOURS + 1e-6).astype(np.int64)
    return right


def _scores(
    hours: FloatArray, probability: FloatArray, truth: FloatArray, presence: FloatArray | None = None
) -> dict[str, float]:
    """Hours MAE per candidate; acceptance log-loss (is the project in the day at all); and the calibration
    of the confidence of the suggestions made (ECE, the event: within a quarter hour of the confirmed hours)."""
    outcome = (truth > 0).astype(np.int64)
    made = hours > 0
    return {
        "hours_mae": round(float(np.mean(np.abs(hours - truth))), 4) if len(truth) else math.nan,
        "acceptance_log_loss": round(_log_loss(probability if presence is None else presence, outcome), 4),
        "ece": round(expected_calibration_error(probability[made], _right(hours[made], truth[made])), 4),
        "suggested_rows": int(made.sum()),
    }


def holdout_score(bundle: ModelBundle, holdout: Part, *, calibrate: bool = False) -> dict[str, Any]:
    """The model's and the rules engine's holdout metrics, side by side, from the suggestions each would make.

    With `calibrate`, the bundle's confidence is first mapped (isotonic) to the chance that a suggestion lands
    within a quarter hour of the confirmed hours, fitted on the model's own holdout suggestions.
    """
    X = holdout.matrix()
    truth = holdout.column("hours").astype(np.float32)
    day_key = holdout.column("day_key").astype(np.int64)
    if calibrate:
        bundle.calibrator = None
    prediction = predict_bundle(bundle, X)
    _, group = np.unique(day_key, return_inverse=True)
    attended_c = np.round(X[:, F["attended_hours"]].astype(np.float64) * 100).astype(np.int64)
    model_hours = (
        suggestion_hours(
            day_group=group.astype(np.int64),
            hours=prediction.hours,
            confidence=prediction.keep_score,
            remaining_c=attended_c,
            granularity_c=GRANULARITY_C,
        )
        / 100
    ).astype(np.float32)
    made = model_hours > 0
    if calibrate and made.sum() >= MIN_HOLDOUT_ROWS:
        calibrator = IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip")
        calibrator.fit(prediction.confidence[made], _right(model_hours[made], truth[made]))
        bundle.calibrator = calibrator
        prediction.confidence = np.asarray(calibrator.predict(prediction.confidence), dtype=np.float32)
    return {
        "model": _scores(model_hours, prediction.confidence, truth, prediction.keep_score),
        "rules": _scores(holdout.column("rules_hours"), holdout.column("rules_confidence"), truth),
        "rows": len(truth),
        "employee_days": len(np.unique(day_key)),
    }


# The model must be this much better than the rules engine on the holdout's hours MAE to answer generation:
# a tie is the rules engine's (explainable, and it adapts to a switch the same day a confirmation arrives).
MODEL_MARGIN = 0.02


def beats_rules(metrics: dict[str, Any]) -> tuple[bool, str]:
    """The model answers generation when its holdout hours MAE beats the rules engine's by MODEL_MARGIN."""
    model, rules = metrics["model"], metrics["rules"]
    mae_ok = model["hours_mae"] < rules["hours_mae"] * (1 - MODEL_MARGIN)
    verdict = (
        f"hours MAE {model['hours_mae']:.3f} vs rules {rules['hours_mae']:.3f}; "
        f"confidence calibration error {model['ece']:.3f} vs rules {rules['ece']:.3f}"
    )
    if mae_ok:
        return True, f"The model answers: it beats the rules engine on the holdout ({verdict})."
    return False, (
        f"The rules engine answers: the model is not {MODEL_MARGIN:.0%} better on the holdout's hours MAE ({verdict})."
    )


@dataclass
class TrainingRun:
    window: Window | None
    bundle: ModelBundle | None
    metrics: dict[str, Any]
    samples: int = 0
    holdout_samples: int = 0
    employee_days: int = 0
    seconds: float = 0.0
    usable: bool = False
    reason: str = ""


def training_run(*, as_of: date | None = None, on_progress: Progress | None = None, seed: int = 0) -> TrainingRun:
    """Build the dataset, fit, and score on the holdout; writes nothing (the service records the outcome)."""
    began = time.perf_counter()
    window = training_window(as_of=as_of)
    if window is None:
        return TrainingRun(None, None, {}, reason="No confirmed outcomes yet: nothing to learn from.")
    data = dataset_build(window=window, on_progress=on_progress)
    train_rows, holdout_rows = sum(len(x) for x in data.train.X), sum(len(x) for x in data.holdout.X)
    run = TrainingRun(
        window, None, {}, samples=train_rows, holdout_samples=holdout_rows, employee_days=data.employee_days
    )
    if train_rows < MIN_TRAIN_ROWS or holdout_rows < MIN_HOLDOUT_ROWS:
        run.reason = (
            f"Too few confirmed outcomes: {train_rows} training and {holdout_rows} holdout candidates "
            f"(at least {MIN_TRAIN_ROWS} and {MIN_HOLDOUT_ROWS} needed)."
        )
        run.seconds = time.perf_counter() - began
        return run
    calibration_from = (window.holdout_start - window.data_start).days - CALIBRATION_DAYS
    run.bundle = model_fit(data.train, calibration_from_day=calibration_from, seed=seed)
    run.metrics = holdout_score(run.bundle, data.holdout, calibrate=True)
    run.usable = True
    run.seconds = time.perf_counter() - began
    return run


def library_versions() -> dict[str, str]:
    return {
        "scikit-learn": sklearn.__version__,
        "numpy": np.__version__,
        "postgres": str(getattr(connection, "pg_version", "")),
    }
