"""Working-time rule presets and the validation of a tenant's thresholds (pure: no database)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from core.errors import ValidationFailed

# Rule names as stored on a violation.
DAILY_MAX = "daily_max"
WEEKLY_MAX = "weekly_max"
WEEKLY_AVERAGE = "weekly_average"
DAILY_REST = "daily_rest"
BREAK = "break"
CONSECUTIVE_DAYS = "consecutive_days"
WEEKLY_OVERTIME = "weekly_overtime"
RULES = (DAILY_MAX, WEEKLY_MAX, WEEKLY_AVERAGE, DAILY_REST, BREAK, CONSECUTIVE_DAYS, WEEKLY_OVERTIME)

# Each preset follows the text of its law; a tenant adjusts the thresholds it needs to.
# EU Working Time Directive 2003/88/EC: 11 h daily rest (Art. 3), a break when the day is longer than 6 h
# (Art. 4: its length is left to national law; 15 minutes here), 24 h rest in every 7 days (Art. 5),
# 48 h average week over a reference period of up to 4 months (Art. 6, 16: 17 weeks).
# Germany, Arbeitszeitgesetz: 10 h daily maximum (§3), 30 min break over 6 h and 45 min over 9 h (§4),
# 11 h rest (§5). UK Working Time Regulations 1998: 48 h average over 17 weeks (reg. 4), 11 h daily rest
# (reg. 10), 24 h weekly rest (reg. 11), 20 min break over 6 h (reg. 12). US FLSA: overtime past 40 h a week.
PRESETS: dict[str, dict[str, Any]] = {
    "eu_wtd": {
        "label": "EU Working Time Directive",
        "daily_max_hours": None,
        "weekly_max_hours": None,
        "weekly_average_max_hours": "48",
        "reference_weeks": 17,
        "min_daily_rest_hours": "11",
        "breaks": [{"over_hours": "6", "min_minutes": 15}],
        "max_consecutive_days": 6,
        "weekly_overtime_over_hours": None,
    },
    "de_arbzg": {
        "label": "Germany: Arbeitszeitgesetz",
        "daily_max_hours": "10",
        "weekly_max_hours": None,
        "weekly_average_max_hours": "48",
        "reference_weeks": 26,
        "min_daily_rest_hours": "11",
        "breaks": [{"over_hours": "6", "min_minutes": 30}, {"over_hours": "9", "min_minutes": 45}],
        "max_consecutive_days": 6,
        "weekly_overtime_over_hours": None,
    },
    "uk_wtr": {
        "label": "UK Working Time Regulations",
        "daily_max_hours": None,
        "weekly_max_hours": None,
        "weekly_average_max_hours": "48",
        "reference_weeks": 17,
        "min_daily_rest_hours": "11",
        "breaks": [{"over_hours": "6", "min_minutes": 20}],
        "max_consecutive_days": 6,
        "weekly_overtime_over_hours": None,
    },
    "us_flsa": {
        "label": "US Fair Labor Standards Act",
        "daily_max_hours": None,
        "weekly_max_hours": None,
        "weekly_average_max_hours": None,
        "reference_weeks": 1,
        "min_daily_rest_hours": None,
        "breaks": [],
        "max_consecutive_days": None,
        "weekly_overtime_over_hours": "40",
    },
    "custom": {
        "label": "Custom thresholds",
        "daily_max_hours": None,
        "weekly_max_hours": None,
        "weekly_average_max_hours": None,
        "reference_weeks": 1,
        "min_daily_rest_hours": None,
        "breaks": [],
        "max_consecutive_days": None,
        "weekly_overtime_over_hours": None,
    },
}
DEFAULT_PRESET = "eu_wtd"
_HOUR_KEYS = (
    ("daily_max_hours", Decimal(1), Decimal(24)),
    ("weekly_max_hours", Decimal(1), Decimal(168)),
    ("weekly_average_max_hours", Decimal(1), Decimal(168)),
    ("min_daily_rest_hours", Decimal(1), Decimal(24)),
    ("weekly_overtime_over_hours", Decimal(1), Decimal(168)),
)


@dataclass(frozen=True)
class BreakTier:
    over_hours: Decimal
    min_minutes: int


@dataclass(frozen=True)
class Thresholds:
    daily_max_hours: Decimal | None
    weekly_max_hours: Decimal | None
    weekly_average_max_hours: Decimal | None
    reference_weeks: int
    min_daily_rest_hours: Decimal | None
    breaks: tuple[BreakTier, ...]
    max_consecutive_days: int | None
    weekly_overtime_over_hours: Decimal | None

    def as_json(self) -> dict[str, Any]:
        def text(value: Decimal | None) -> str | None:
            return None if value is None else format(value.normalize(), "f")

        return {
            "daily_max_hours": text(self.daily_max_hours),
            "weekly_max_hours": text(self.weekly_max_hours),
            "weekly_average_max_hours": text(self.weekly_average_max_hours),
            "reference_weeks": self.reference_weeks,
            "min_daily_rest_hours": text(self.min_daily_rest_hours),
            "breaks": [{"over_hours": text(t.over_hours), "min_minutes": t.min_minutes} for t in self.breaks],
            "max_consecutive_days": self.max_consecutive_days,
            "weekly_overtime_over_hours": text(self.weekly_overtime_over_hours),
        }


def _hours(value: Any, name: str, low: Decimal, high: Decimal, errors: dict[str, list[str]]) -> Decimal | None:
    if value is None or value == "":
        return None
    try:
        number = Decimal(str(value))
    except (InvalidOperation, ValueError):
        errors[name] = ["A number of hours."]
        return None
    if not number.is_finite() or number < low or number > high:
        errors[name] = [f"Between {low} and {high} hours."]
        return None
    return number


def _whole(value: Any, name: str, low: int, high: int, errors: dict[str, list[str]]) -> int | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, int | str):
        errors[name] = ["A whole number."]
        return None
    try:
        number = int(value)
    except ValueError:
        errors[name] = ["A whole number."]
        return None
    if number < low or number > high:
        errors[name] = [f"Between {low} and {high}."]
        return None
    return number


def thresholds_parse(preset: str, overrides: dict[str, Any] | None = None) -> Thresholds:
    """The preset's thresholds with the tenant's overrides; ValidationFailed naming each field out of range."""
    if preset not in PRESETS:
        raise ValidationFailed("Unknown preset.", fields={"preset": [f"One of: {', '.join(sorted(PRESETS))}."]})
    values = {**PRESETS[preset], **(overrides or {})}
    unknown = sorted(set(overrides or {}) - set(PRESETS[preset]) - {"label"})
    errors: dict[str, list[str]] = {name: ["Not a threshold of the rules."] for name in unknown}
    hours = {name: _hours(values.get(name), name, low, high, errors) for name, low, high in _HOUR_KEYS}
    reference_weeks = _whole(values.get("reference_weeks"), "reference_weeks", 1, 52, errors) or 1
    consecutive = _whole(values.get("max_consecutive_days"), "max_consecutive_days", 1, 31, errors)
    tiers: list[BreakTier] = []
    raw_breaks = values.get("breaks") or []
    if not isinstance(raw_breaks, list) or len(raw_breaks) > 5:
        errors["breaks"] = ["A list of at most 5 {over_hours, min_minutes} tiers."]
    else:
        for index, tier in enumerate(raw_breaks):
            tier_errors: dict[str, list[str]] = {}
            if not isinstance(tier, dict):
                errors[f"breaks.{index}"] = ["An object {over_hours, min_minutes}."]
                continue
            over = _hours(tier.get("over_hours"), "over_hours", Decimal(1), Decimal(24), tier_errors)
            minutes = _whole(tier.get("min_minutes"), "min_minutes", 1, 180, tier_errors)
            if over is None or minutes is None:
                for key, problems in (tier_errors or {"over_hours": ["Required."]}).items():
                    errors[f"breaks.{index}.{key}"] = problems
                continue
            tiers.append(BreakTier(over_hours=over, min_minutes=minutes))
    if errors:
        raise ValidationFailed("Some thresholds are out of range.", fields=errors)
    return Thresholds(
        daily_max_hours=hours["daily_max_hours"],
        weekly_max_hours=hours["weekly_max_hours"],
        weekly_average_max_hours=hours["weekly_average_max_hours"],
        reference_weeks=reference_weeks,
        min_daily_rest_hours=hours["min_daily_rest_hours"],
        breaks=tuple(sorted(tiers, key=lambda tier: tier.over_hours)),
        max_consecutive_days=consecutive,
        weekly_overtime_over_hours=hours["weekly_overtime_over_hours"],
    )
