"""The data layer's one exception hierarchy.

Every failure that can reach a user is one of these, and its ``str()`` is a single line
fit to print after ``broadsheet: error:`` or to show in a notification::

    BroadsheetError
     ├── ConfigError            config.toml is unreadable or invalid
     ├── StoreError             the cache cannot be read or written
     ├── NotFound               no such site, category, post, comment or outbox entry
     ├── InsecureTransport      a secret would travel over plain http to a remote host
     └── SourceError            anything a remote site did or failed to do
          ├── NotASite          the URL answers, but it is not a WordPress site
          ├── BadResponse       the site answered with something malformed
          ├── AuthError         the site refused our credentials (401/403)
          ├── Refused           the site refused a reply (closed, flood, invalid, ...)
          └── Unreachable       transient: network down, time-out, 5xx or 429 after retries

``Unreachable`` is the only *transient* error: an outbox entry that fails with it is
retried on the next sync; everything else needs the user.
"""

from __future__ import annotations


class BroadsheetError(Exception):
    """Base of every error Broadsheet reports to the user."""


class ConfigError(BroadsheetError):
    """The configuration file is unreadable or invalid."""


class StoreError(BroadsheetError):
    """The cache could not be read or written."""


class Stopped(BroadsheetError):
    """Work was stopped on request (the reader quitting) before it finished; nothing of it
    was kept."""


class NotFound(BroadsheetError):
    """A site, category, post, comment or outbox entry is not in the cache."""


class InsecureTransport(BroadsheetError):
    """A secret would be sent over plain http to a host that is not loopback."""


class SourceError(BroadsheetError):
    """A remote site failed or answered something we cannot use.

    ``code`` is WordPress's error code (``rest_comment_closed``...) when the site gave one.
    """

    def __init__(self, message: str, code: str = "") -> None:
        super().__init__(message)
        self.code = code


class NotASite(SourceError):
    """The URL does not lead to a WordPress site."""


class BadResponse(SourceError):
    """The site answered with malformed or unexpected data."""


class AuthError(SourceError):
    """The site refused the credentials."""


class Refused(SourceError):
    """The site refused a reply (comments closed, flood, invalid content...)."""


class Unreachable(SourceError):
    """A transient failure: network down, time-out, or 5xx/429 after retries.

    ``after`` is how many seconds the site asked us to wait (``Retry-After``), when it did.
    """

    after: float | None = None
