"""WordPress Application Passwords, one per site, in ``credentials.toml``.

The file lives in the config directory (``cache.paths.config_dir``) and holds::

    [sites."example.com"]
    user = "ada"
    password = "abcd efgh ijkl mnop qrst uvwx"
    origin = "https://example.com"
    user_id = 3

Invariants:

- The file is created with mode 0600 from the start (``os.open(..., 0o600)`` on a temporary
  file, then an atomic ``os.replace``) and its directory is 0700. A file that group or
  others can read is tightened to 0600 (with a warning) before it is read.
- A password never appears in a ``repr``, a log line or an exception message: ``Credentials``
  hides it, and ``BasicAuth`` builds the ``Authorization`` header only while a request is
  sent (httpx masks that header in its own reprs).
- A password is never sent over plain http to a host that is not loopback:
  ``check_transport`` raises ``InsecureTransport`` and every authenticated call uses it.
  Loopback means a literal loopback IP (127.0.0.0/8, ::1) or the name ``localhost``; other
  names (``*.localhost`` included) may resolve anywhere.
- A password goes only to the site it was saved for. Site names are the user's and can be
  reused (``remove foo``, then ``add https://other.example --name foo``), so ``login``
  records the API root's **origin** (``scheme://host[:port]``, ``origin_of``) and the
  verified user's id with the password; ``BasicAuth`` refuses (``AuthError``, "run
  broadsheet login again") to sign a request to any other origin, and credentials saved
  without an origin (by an older version) are never sent.
"""

from __future__ import annotations

import base64
import logging
import os
import stat
import tomllib
from collections.abc import Generator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from filelock import FileLock

from . import paths
from .errors import AuthError, ConfigError, InsecureTransport
from .http import is_loopback as is_loopback_host
from .storage import atomic_write

log = logging.getLogger(__name__)

FILE_NAME = "credentials.toml"


@dataclass(frozen=True, slots=True)
class Credentials:
    """A WordPress user and an Application Password for one site."""

    site: str
    user: str
    password: str = field(repr=False)
    #: ``scheme://host[:port]`` of the API root the password was checked against at login.
    origin: str = ""
    #: The WordPress user id ``/wp/v2/users/me`` returned at login (None: not known).
    user_id: int | None = None

    def __repr__(self) -> str:
        return (
            f"Credentials(site={self.site!r}, user={self.user!r}, password='***', "
            f"origin={self.origin!r}, user_id={self.user_id!r})"
        )

    __str__ = __repr__


class BasicAuth(httpx.Auth):
    """HTTP Basic from ``Credentials``; the header exists only inside the request."""

    def __init__(self, credentials: Credentials) -> None:
        self._credentials = credentials

    def __repr__(self) -> str:
        return f"BasicAuth(user={self._credentials.user!r})"

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        check_transport(str(request.url))
        check_origin(self._credentials, str(request.url))
        token = f"{self._credentials.user}:{self._credentials.password}".encode()
        request.headers["Authorization"] = "Basic " + base64.b64encode(token).decode()
        yield request


def check_transport(url: str) -> None:
    """Raise ``InsecureTransport`` unless ``url`` is https or goes to a loopback host."""
    parsed = httpx.URL(url)
    if parsed.scheme == "https" or (parsed.scheme == "http" and is_loopback_host(parsed.host)):
        return
    raise InsecureTransport(
        f"refusing to send a password to {parsed.host} over plain {parsed.scheme or 'http'}: the site must use https"
    )


def origin_of(url: str) -> str:
    """``scheme://host[:port]`` of ``url``, normalised (lower case, default port left out)."""
    parsed = httpx.URL(url)
    scheme, host, port = parsed.scheme.lower(), parsed.host.lower(), parsed.port
    if ":" in host:
        host = f"[{host}]"
    if port == {"http": 80, "https": 443}.get(scheme):
        port = None
    return f"{scheme}://{host}" + (f":{port}" if port else "")


def check_origin(credentials: Credentials, url: str) -> None:
    """Raise ``AuthError`` unless ``credentials`` were saved for ``url``'s origin."""
    if not credentials.origin:
        raise AuthError(
            f"the password for {credentials.site} was saved without the site's address; "
            f"run `broadsheet login {credentials.site}` again",
            "credentials_origin",
        )
    if origin_of(credentials.origin) != origin_of(url):
        raise AuthError(
            f"credentials were saved for {credentials.origin}; run `broadsheet login {credentials.site}` again",
            "credentials_origin",
        )


def credentials_path(directory: str | os.PathLike[str] | None = None) -> Path:
    """Where ``credentials.toml`` lives."""
    return paths.config_dir(directory) / FILE_NAME


def load(site: str, directory: str | os.PathLike[str] | None = None) -> Credentials | None:
    """The credentials stored for ``site``, or None."""
    entry = _read(credentials_path(directory)).get(site)
    if not isinstance(entry, dict):
        return None
    user, password = entry.get("user"), entry.get("password")
    if not isinstance(user, str) or not isinstance(password, str) or not user or not password:
        return None
    origin = entry.get("origin")
    user_id = entry.get("user_id")
    return Credentials(
        site,
        user,
        password,
        origin if isinstance(origin, str) else "",
        user_id if isinstance(user_id, int) and not isinstance(user_id, bool) else None,
    )


def save(credentials: Credentials, directory: str | os.PathLike[str] | None = None) -> Path:
    """Store (or replace) ``credentials``; returns the file's path."""
    path = credentials_path(directory)
    with _locked(path):
        sites = _read(path)
        entry: dict[str, Any] = {"user": credentials.user, "password": credentials.password}
        if credentials.origin:
            entry["origin"] = credentials.origin
        if credentials.user_id is not None:
            entry["user_id"] = credentials.user_id
        sites[credentials.site] = entry
        _write(path, sites)
    return path


def remove(site: str, directory: str | os.PathLike[str] | None = None) -> bool:
    """Forget ``site``'s credentials; False when there were none."""
    path = credentials_path(directory)
    if not path.exists():
        return False
    with _locked(path):
        sites = _read(path)
        if site not in sites:
            return False
        del sites[site]
        _write(path, sites)
    return True


#: ``delete(site)``: the same as ``remove`` (for ``broadsheet remove``, which must not leave a
#: site's password behind for a later site of the same name).
delete = remove


# -- internals -------------------------------------------------------------------------


def _locked(path: Path) -> FileLock:
    _ensure_dir(path.parent)
    return FileLock(str(path) + ".lock", timeout=30)


def _ensure_dir(directory: Path) -> None:
    if not directory.exists():
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)


def _read(path: Path) -> dict[str, dict[str, Any]]:
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        return {}
    except OSError as error:
        raise ConfigError(f"cannot read {path}: {error.strerror}") from None
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        log.warning("%s was readable by other users; restricting it to you (mode 0600)", path)
        try:
            os.chmod(path, 0o600)
        except OSError as error:
            raise ConfigError(f"{path} is readable by other users and cannot be fixed: {error.strerror}") from None
    try:
        raw = tomllib.loads(path.read_text("utf-8"))
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError(f"cannot read {path}: {error}") from None
    except tomllib.TOMLDecodeError as error:
        # never echo the file's text: it holds passwords
        raise ConfigError(f"{path} is not valid TOML (line {getattr(error, 'lineno', '?')})") from None
    sites = raw.get("sites", {})
    if not isinstance(sites, dict):
        raise ConfigError(f"{path}: [sites] must be a table")
    return {k: v for k, v in sites.items() if isinstance(v, dict)}


def _write(path: Path, sites: dict[str, dict[str, Any]]) -> None:
    import tomli_w  # a real TOML writer: any string (emoji, quotes, newlines) reads back

    entries: dict[str, dict[str, Any]] = {}
    for name in sorted(sites):
        entry = sites[name]
        row: dict[str, Any] = {"user": str(entry["user"]), "password": str(entry["password"])}
        if isinstance(entry.get("origin"), str) and entry["origin"]:
            row["origin"] = entry["origin"]
        if isinstance(entry.get("user_id"), int) and not isinstance(entry.get("user_id"), bool):
            row["user_id"] = int(entry["user_id"])
        entries[name] = row
    header = "# Broadsheet credentials (Application Passwords). Keep this file private.\n\n"
    payload = (header + tomli_w.dumps({"sites": entries})).encode("utf-8")
    _ensure_dir(path.parent)
    atomic_write(path, payload)  # mkstemp creates the temporary file 0600: never readable by others
