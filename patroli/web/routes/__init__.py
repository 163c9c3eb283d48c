"""The app's pages, one module per resource; ``all_pages()`` is the route table."""

from __future__ import annotations

from patroli.web.routes import admin, ads, auth, cases, dashboard, images, networks, queue, search
from patroli.web.routing import Page


def all_pages() -> list[Page]:
    return [
        *auth.PAGES,
        *dashboard.PAGES,
        *queue.PAGES,
        *ads.PAGES,
        *images.PAGES,
        *search.PAGES,
        *cases.PAGES,
        *networks.PAGES,
        *admin.PAGES,
    ]
