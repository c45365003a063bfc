"""The locales a tenant can choose: how pages write dates and numbers (the words stay English).

Each locale maps to a Django language code whose format module (hrms/formats/<locale>/formats.py) holds its date
and number formats. The codes are English variants ("en-de": English as written in Germany) so that only the
formats follow the tenant; no Django or DRF message is translated. API payloads are not localized (ISO dates,
JSON numbers).
"""

from __future__ import annotations

DEFAULT_LOCALE = "en-GB"
# Tenant locale -> (label, Django language code whose format module applies).
LOCALES: dict[str, tuple[str, str]] = {
    "en-GB": ("English (United Kingdom): 5 Dec 2026, 1.5 h", "en-gb"),
    "en-US": ("English (United States): 12/05/2026, 1.5 h", "en-us"),
    "de-DE": ("German (Germany): 05.12.2026, 1,5 h", "en-de"),
    "fr-FR": ("French (France): 05/12/2026, 1,5 h", "en-fr"),
    "nl-NL": ("Dutch (Netherlands): 05-12-2026, 1,5 h", "en-nl"),
    "es-ES": ("Spanish (Spain): 05/12/2026, 1,5 h", "en-es"),
}
LOCALE_CHOICES = [(code, label) for code, (label, _) in LOCALES.items()]


def locale_language(locale: str | None) -> str:
    """The Django language code to activate for a tenant's locale (the default locale's for an unknown one)."""
    return LOCALES.get(locale or DEFAULT_LOCALE, LOCALES[DEFAULT_LOCALE])[1]
