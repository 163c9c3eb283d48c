"""The review and investigation web app: ``create_app(store_url, settings)``; see patroli/web/app.py."""

from __future__ import annotations

from typing import Any

__all__ = ["WebSettings", "create_app"]


def __getattr__(name: str) -> Any:  # lazy: importing web.settings must not build the app
    if name == "create_app":
        from patroli.web.app import create_app

        return create_app
    if name == "WebSettings":
        from patroli.web.settings import WebSettings

        return WebSettings
    raise AttributeError(name)
