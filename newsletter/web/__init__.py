"""The preference centre: signed unsubscribe and preference links, archive and about pages."""

from newsletter.web.app import create_app

__all__ = ["create_app"]
