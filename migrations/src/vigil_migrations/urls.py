"""Database URL conversion between libpq and SQLAlchemy spellings."""

from __future__ import annotations

_LIBPQ_SCHEMES = ("postgresql://", "postgres://")
_SQLALCHEMY_SCHEME = "postgresql+psycopg://"


def sqlalchemy_url(url: str) -> str:
    """Return ``url`` with a libpq scheme replaced by ``postgresql+psycopg://``.

    URLs that already name a SQLAlchemy driver (``postgresql+…://``) are returned unchanged.
    """
    for scheme in _LIBPQ_SCHEMES:
        if url.startswith(scheme):
            return _SQLALCHEMY_SCHEME + url[len(scheme) :]
    return url
