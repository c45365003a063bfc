"""Page panels: an app registers a panel for a page of an app below it, which shows it without importing it.

A page names its extension point in its template, `{% page_panels "my-week" employee=employee start=monday
end=sunday %}`; every panel registered for that page name renders there, in order, with the request and those
arguments. Apps register their panels in their AppConfig.ready.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.http import HttpRequest
from django.utils.html import format_html_join
from django.utils.safestring import SafeString, mark_safe

# A panel renders HTML (already escaped, e.g. by render_to_string) or "" when it has nothing to show.
PanelRender = Callable[..., str]


@dataclass(frozen=True)
class Panel:
    name: str
    render: PanelRender
    order: int


_panels: dict[str, dict[str, Panel]] = {}


def panel_register(page: str, *, name: str, render: PanelRender, order: int = 100) -> None:
    """Show `render(request, **arguments)` on `page`; registering a name again replaces it (reloads, tests)."""
    _panels.setdefault(page, {})[name] = Panel(name=name, render=render, order=order)


def panels_for(page: str) -> list[Panel]:
    return sorted(_panels.get(page, {}).values(), key=lambda panel: (panel.order, panel.name))


def panels_render(request: HttpRequest, page: str, **arguments: Any) -> SafeString:
    parts = [(panel.name, mark_safe(panel.render(request, **arguments))) for panel in panels_for(page)]  # noqa: S308 - panels return rendered templates
    return format_html_join("\n", '<div class="page-panel" data-panel="{}">{}</div>', [p for p in parts if p[1]])
