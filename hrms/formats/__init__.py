"""Date and number formats of the tenant locales (tenants/locales.py), one module per locale (FORMAT_MODULE_PATH).

Every module defines the same names, so a page reads alike whatever the locale: DATE_FORMAT for a date,
MONTH_DAY_FORMAT for a day in a week, DATETIME_FORMAT for a moment, DECIMAL_SEPARATOR for hours and percentages.
Dates typed into forms are ISO (the browser's date picker); hours boxes take a comma or a point.
"""
