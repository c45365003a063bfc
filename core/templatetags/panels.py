"""`{% page_panels "page-name" key=value ... %}`: the panels other apps registered for a page (core/panels.py).

A template builtin (settings TEMPLATES), so a page adds its extension point with one line and no `{% load %}`.
"""

from __future__ import annotations

from typing import Any

from django import template
from django.utils.safestring import SafeString

from core.panels import panels_render

register = template.Library()


@register.simple_tag(takes_context=True)
def page_panels(context: template.Context, page: str, **arguments: Any) -> SafeString:
    request = context.get("request")
    if request is None:
        return SafeString("")
    return panels_render(request, page, **arguments)
