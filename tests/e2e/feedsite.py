"""REAL feed producers on loopback, for the e2e tests and the benchmarks: a Hugo site served
by nginx (:class:`FeedSite`), and nginx serving any directory (:class:`StaticServer`).

Uses Debian's packages (``apt-get install hugo nginx-light``); needs no root and writes
nothing outside its temp dirs (a FeedSite has two: the site and its server's). Design decisions
and invariants:

* **nginx as an unprivileged-style instance**: its own prefix, ``nginx.conf``, pid file,
  error and access logs and temp paths, all in a temp dir (``nginx -p DIR -c DIR/nginx.conf
  -e DIR/error.log``, ``daemon off``), one worker by default, listening only on a loopback
  address (default 127.0.0.61, falling back to 127.0.0.1) and a random free port. nginx's
  defaults are kept where they matter: ``ETag`` (mtime-size) and ``Last-Modified`` on every
  static file, 304 for ``If-None-Match`` / ``If-Modified-Since``. ``gzip`` is off unless asked
  (with it, nginx turns the ETag into a weak one). When run as root the workers run as root
  too (they must read the temp dir, which is private). The access log (``$msec $status
  $request_method "$request_uri" $body_bytes_sent "$http_user_agent"``) is written unbuffered,
  so :meth:`StaticServer.requests` sees a request as soon as its answer was sent.
* **Hugo as the generator**: a site with no theme, only the templates written here: RSS 2.0
  (``index.xml``), Atom 1.0 (``atom.xml``) and JSON Feed 1.1 (``feed.json``) as Hugo output
  formats, an HTML home page advertising all three with ``<link rel="alternate">``, and
  article pages with navigation, a sidebar and a footer around ``<article>`` (for full-text
  extraction). ``summaryLength`` is huge, so only ``<!--more-->`` truncates: a post with a
  summary is *summary-only* in every feed (RSS ``description`` / Atom ``summary`` / JSON
  ``summary``, plus ``content_html`` = the summary, as JSON Feed needs one); every other post
  carries its full HTML. GUIDs are the permalinks (``/posts/<slug>/``), so editing a post in
  place keeps its GUID and changes its ``lastmod`` (Atom ``updated``, JSON
  ``date_modified``). Dates carry their time zones into the feeds.
* **Hostile strings are part of the default site**: HTML in titles, a C1 CSI (U+009B, valid
  XML), a bidi override, an OSC 8 hyperlink and a screen-clear ESC sequence. XML 1.0 cannot
  carry C0 controls such as ESC at all, so by default the RSS and Atom templates drop them
  (as a careful template would; the feeds stay well-formed) while the JSON Feed keeps them
  (``\\u001b``). ``raw_controls=True`` writes titles unfiltered, as Hugo's own templates do:
  the RSS and Atom then hold a raw ESC and are not well-formed XML (a parser's tolerance test).
* **Deploys keep ETags honest**: :meth:`FeedSite.rebuild` builds into a fresh directory and
  copies into the served one only the files whose bytes changed (each by rename, so nginx
  never serves half a file), and removes files that went away. An unchanged rebuild leaves
  mtimes, hence ETag and Last-Modified, as they were; a changed file gets an mtime at least
  one second newer than before (nginx's ETag and Last-Modified have one-second resolution).
* **Processes**: hugo and nginx run in their own process groups under the same sh watchdog
  as :mod:`tests.e2e.wpserver` (the group is SIGKILLed when the program exits or this Python
  process dies, even by SIGKILL). :meth:`stop`, the context managers and an ``atexit`` hook
  kill the groups and remove the temp dir; a crashed run's temp dirs (owner pid gone) and
  their nginx groups are removed by the next start.

Usage::

    from tests.e2e.feedsite import FeedSite, StaticServer, available

    if (reason := available()) is None:
        with FeedSite(posts=12) as site:            # built and answering in ~0.3 s
            site.feed_url, site.atom_url, site.json_url, site.url
            site.add_post("Nouvelle ère", "<p>Body</p>", categories=["News"])
            site.edit_post(site.posts[0].slug, body="<p>Edited</p>")
            site.rebuild()                          # same GUIDs, new ETag for index.xml
        with StaticServer(some_dir) as srv:         # any files, e.g. from feedgen
            srv.url_for("big.xml"); srv.requests()  # access log rows

Command line (a site for manual testing; Ctrl-C stops it)::

    python -m tests.e2e.feedsite --posts 20
"""

from __future__ import annotations

import argparse
import atexit
import datetime as dt
import grp
import json
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from .wpserver import _can_bind, _group_members, _kill_group, _pid_alive, _prctl, _which

__all__ = [
    "DEFAULT_HOST",
    "HOSTILE_TITLES",
    "FeedSite",
    "FeedSiteError",
    "Post",
    "Request",
    "StaticServer",
    "available",
]

DEFAULT_HOST = "127.0.0.61"
_TMP_PREFIX = "broadsheet-feeds-"

#: Titles every default site carries (one post each), besides ordinary non-ASCII ones.
HOSTILE_TITLES = (
    '<script>alert("t")</script> & "quotes" \'apostrophes\'',
    "C1 CSI \u009b31mred\u009b0m and a bidi override \u202egnp.exe",
    "OSC 8 \x1b]8;;http://evil.invalid/\x1b\\click\x1b]8;;\x1b\\ and clear \x1b[2J\x1b[H",
)
_NON_ASCII_TITLES = (
    "Ünïcödé café, naïve façade",
    "東京の天気は晴れ",
    "Привет, мир",
    "مرحبا بالعالم",
    "Emoji 🚀 in a title",
    "Ελληνικά — em dash … ellipsis",
    "Łódź and Kraków",
    "Ça marche ‽",
)
_ZONES = ("+02:00", "-05:00", "Z", "+05:30", "+09:00", "-03:30", "+00:00", "+01:00")
_CATEGORIES = ("News", "Tech", "Science", "Culture", "Économie")
_TAGS = ("python", "terminal", "rss", "hugo", "ünïcode", "c++")
_XML_BAD = r"[\x00-\x08\x0B\x0C\x0E-\x1F]"


class FeedSiteError(RuntimeError):
    """A step of building, serving or stopping a feed site failed."""


def available(*, hugo: bool = True) -> str | None:
    """None when this machine can run :class:`FeedSite` (``hugo=False``: just
    :class:`StaticServer`), else the reason it cannot."""
    if not sys.platform.startswith("linux"):
        return "the feed e2e harness needs Linux"
    if not _which("nginx"):
        return "nginx is missing (apt-get install nginx-light)"
    if hugo and not _which("hugo"):
        return "hugo is missing (apt-get install hugo)"
    return None


def _free_port(host: str) -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def _sweep_stale() -> None:
    """Remove temp dirs (and their nginx groups) left by harness processes that died."""
    for d in Path(tempfile.gettempdir()).glob(_TMP_PREFIX + "*"):
        try:
            pid = int((d / "owner.pid").read_text().strip())
        except (OSError, ValueError):
            continue
        if _pid_alive(pid):
            continue
        for pgid_file in d.glob("*.pgid"):
            try:
                pgid = int(pgid_file.read_text().strip())
            except (OSError, ValueError):
                continue
            members = _group_members(pgid)
            ours = False  # provably ours: a member's command line names the dir
            for member in members:
                try:
                    with open(f"/proc/{member}/cmdline", "rb") as f:
                        ours = ours or str(d).encode() in f.read()
                except OSError:
                    pass
            if ours:
                for member in members:
                    try:
                        os.kill(member, signal.SIGKILL)
                    except OSError:
                        pass
        shutil.rmtree(d, ignore_errors=True)


def _die_with_parent() -> None:
    _prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


def _run_once(argv: list[str], *, env: dict[str, str], cwd: Path, timeout: float) -> tuple[int | None, str]:
    """Run a short-lived program (hugo: one process, no children) in its own process group,
    killed with this process (PR_SET_PDEATHSIG) or after ``timeout``; (exit status or None
    on time-out, output)."""
    proc = subprocess.Popen(
        argv,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        cwd=cwd,
        env=env,
        start_new_session=True,
        preexec_fn=_die_with_parent,
    )
    try:
        out, _ = proc.communicate(timeout=timeout)
        return proc.returncode, out.decode(errors="replace")
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, _ = proc.communicate()
        return None, out.decode(errors="replace")


class _Processes:
    """Owns a temp dir and the process groups started in it (the wpserver watchdog)."""

    def __init__(self) -> None:
        self.tmp: Path | None = None
        self._procs: dict[str, subprocess.Popen] = {}
        self._watch_fds: dict[str, int] = {}
        self._logs: dict[str, object] = {}

    def open(self) -> Path:
        _sweep_stale()
        self.tmp = Path(tempfile.mkdtemp(prefix=_TMP_PREFIX))
        (self.tmp / "owner.pid").write_text(str(os.getpid()))
        return self.tmp

    def spawn(
        self, name: str, argv: list[str], env: dict[str, str] | None = None, cwd: Path | None = None
    ) -> subprocess.Popen:
        """Start ``argv`` in a new process group under a sh watchdog that kills the group when
        the program exits or this Python process dies (EOF on a pipe only we write to)."""
        assert self.tmp is not None
        log = open(self.tmp / f"{name}.log", "ab")
        r, w = os.pipe()
        script = f'"$@" & child=$!; (read _ <&{r}; kill -KILL 0) & wait "$child"; kill -KILL 0'
        try:
            proc = subprocess.Popen(
                ["/bin/sh", "-c", script, f"broadsheet-{name}", *argv],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=cwd or self.tmp,
                env=env,
                start_new_session=True,
                pass_fds=(r,),
            )
        except BaseException:
            os.close(w)
            log.close()
            raise
        finally:
            os.close(r)
        self._watch_fds[name] = w
        self._logs[name] = log
        self._procs[name] = proc
        (self.tmp / f"{name}.pgid").write_text(str(proc.pid))
        return proc

    def kill(self, name: str) -> None:
        proc = self._procs.pop(name, None)
        if proc is not None:
            _kill_group(proc)
        fd = self._watch_fds.pop(name, None)
        if fd is not None:
            os.close(fd)
        log = self._logs.pop(name, None)
        if log is not None:
            log.close()  # type: ignore[attr-defined]

    def alive(self, name: str) -> bool:
        proc = self._procs.get(name)
        return proc is not None and proc.poll() is None

    def pgids(self) -> list[int]:
        return [p.pid for p in self._procs.values()]

    def close(self) -> None:
        for name in list(self._procs):
            self.kill(name)
        if self.tmp is not None:
            shutil.rmtree(self.tmp, ignore_errors=True)
            self.tmp = None

    def log_tail(self, name: str, n: int = 3000) -> str:
        try:
            return (self.tmp / name).read_text(errors="replace")[-n:] if self.tmp else ""
        except OSError:
            return ""


_running: set = set()


@atexit.register
def _stop_all() -> None:
    for server in list(_running):
        try:
            server.stop()
        except Exception:
            pass


# --------------------------------------------------------------------------- nginx


@dataclass(frozen=True)
class Request:
    """One row of the access log."""

    time: float
    status: int
    method: str
    path: str
    bytes_sent: int
    user_agent: str
    if_none_match: str  # "" when the request had none
    if_modified_since: str
    accept_encoding: str


_LOG_FORMAT = (
    '$msec $status $request_method "$request_uri" $body_bytes_sent "$http_user_agent" '
    '"$http_if_none_match" "$http_if_modified_since" "$http_accept_encoding"'
)
_LOG_RE = re.compile(r'^(\S+) (\d{3}) (\S+) "(.*?)" (\d+) "(.*)" "(.*)" "(.*)" "(.*)"$')

_TYPES = """
    types {
        text/html html htm;
        text/xml xml;
        application/rss+xml rss;
        application/atom+xml atom;
        application/json json;
        application/feed+json jsonfeed;
        text/x-opml opml;
        text/plain txt;
        text/css css;
        application/javascript js;
        image/png png;
        image/jpeg jpg jpeg;
        audio/mpeg mp3;
    }
    default_type application/octet-stream;
"""


def _unlog(value: str) -> str:
    return "" if value == "-" else value.replace("\\x22", '"')


class StaticServer:
    """nginx serving ``directory`` on loopback; see the module docstring.

    Attributes after :meth:`start`: ``url`` ("http://host:port/"), ``host``, ``port``,
    ``root`` (the served directory), ``tmp`` (the temp dir with conf and logs).
    """

    def __init__(
        self,
        directory: str | os.PathLike[str],
        host: str = DEFAULT_HOST,
        port: int | None = None,
        *,
        gzip: bool = False,
        workers: int = 1,
        access_log: bool = True,
        start_timeout: float = 10.0,
    ) -> None:
        if not (host == "localhost" or host.startswith("127.")):
            raise ValueError(f"host must be a loopback address, not {host!r}")
        self.root = Path(directory).resolve()
        self.requested_host = self.host = host
        self.port = port or 0
        self.gzip = gzip
        self.workers = workers
        self.access_log = access_log
        self.start_timeout = start_timeout
        self.url = ""
        self._p = _Processes()
        self._started = False

    # lifecycle

    def __enter__(self) -> StaticServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"<StaticServer {self.url or self.requested_host} {self.root}>"

    @property
    def tmp(self) -> Path | None:
        return self._p.tmp

    @property
    def running(self) -> bool:
        return self._started and self._p.alive("nginx")

    @property
    def pgids(self) -> list[int]:
        """Process-group ids of the processes this server runs (for tests)."""
        return self._p.pgids()

    def start(self) -> StaticServer:
        """Start nginx; return when it accepts connections."""
        if self._started:
            return self
        reason = available(hugo=False)
        if reason:
            raise FeedSiteError(f"cannot run nginx here: {reason}")
        if not self.root.is_dir():
            raise FeedSiteError(f"{self.root} is not a directory")
        _running.add(self)
        try:
            self._p.open()
            self._start_nginx()
            self._started = True
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        """Kill nginx (its whole process group) and remove the temp dir."""
        self._p.close()
        self._started = False
        _running.discard(self)

    def _start_nginx(self) -> None:
        tmp = self._p.tmp
        assert tmp is not None
        nginx = _which("nginx")
        assert nginx
        if not _can_bind(self.host):
            if self.host == "127.0.0.1" or not _can_bind("127.0.0.1"):
                raise FeedSiteError(f"cannot bind {self.host} (nor 127.0.0.1)")
            self.host = "127.0.0.1"
        for d in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi", "logs"):
            (tmp / d).mkdir(exist_ok=True)
        (tmp / "access.log").touch()
        last = ""
        for attempt in range(5):
            port = self.port if (self.port and attempt == 0) else _free_port(self.host)
            (tmp / "nginx.conf").write_text(self._conf(port))
            proc = self._p.spawn(
                "nginx", [nginx, "-p", f"{tmp}/", "-c", str(tmp / "nginx.conf"), "-e", str(tmp / "error.log")]
            )
            deadline = time.monotonic() + self.start_timeout
            while proc.poll() is None and time.monotonic() < deadline:
                try:
                    with socket.create_connection((self.host, port), timeout=1):
                        self.port = port
                        self.url = f"http://{self.host}:{port}/"
                        return
                except OSError:
                    time.sleep(0.01)
            last = self._p.log_tail("error.log") + self._p.log_tail("nginx.log")
            self._p.kill("nginx")
            if self.port and attempt == 0:
                raise FeedSiteError(f"nginx could not listen on {self.host}:{port}:\n{last}")
        raise FeedSiteError(f"nginx did not start:\n{last}")

    def _conf(self, port: int) -> str:
        tmp = self._p.tmp
        user = ""
        if os.geteuid() == 0:  # workers must read the private temp dir
            user = f"user {pwd.getpwuid(os.geteuid()).pw_name} {grp.getgrgid(os.getegid()).gr_name};"
        log = (
            f"log_format plain '{_LOG_FORMAT}';\n    access_log {tmp}/access.log plain;"
            if self.access_log
            else "access_log off;"
        )
        gzip = (
            "gzip on; gzip_min_length 256; gzip_types text/xml application/xml "
            "application/rss+xml application/atom+xml application/json application/feed+json "
            "text/x-opml text/plain;"
            if self.gzip
            else "gzip off;"
        )
        return f"""# Written by tests/e2e/feedsite.py for {tmp}
daemon off;
master_process on;
worker_processes {self.workers};
{user}
pid {tmp}/nginx.pid;
error_log {tmp}/error.log warn;
events {{ worker_connections 1024; }}
http {{
{_TYPES}
    {log}
    client_body_temp_path {tmp}/client_body;
    proxy_temp_path {tmp}/proxy;
    fastcgi_temp_path {tmp}/fastcgi;
    uwsgi_temp_path {tmp}/uwsgi;
    scgi_temp_path {tmp}/scgi;
    sendfile on;
    tcp_nopush on;
    keepalive_timeout 65;
    keepalive_requests 10000;
    server_tokens off;
    {gzip}
    server {{
        listen {self.host}:{port};
        server_name _;
        root {self.root};
        index index.html;
        charset_types text/html;
    }}
}}
"""

    # use

    def url_for(self, path: str | os.PathLike[str]) -> str:
        """The URL of a file under the served directory (absolute or relative path)."""
        p = Path(path)
        if p.is_absolute():
            p = p.resolve().relative_to(self.root)
        return self.url + "/".join(p.parts)

    def requests(self, since: int = 0) -> list[Request]:
        """Access-log rows, from row ``since`` on (pass ``len(server.requests())`` as a mark)."""
        if not self.access_log or self.tmp is None:
            return []
        rows = []
        for line in (self.tmp / "access.log").read_text(errors="replace").splitlines():
            m = _LOG_RE.match(line)
            if m:
                rows.append(
                    Request(float(m[1]), int(m[2]), m[3], m[4], int(m[5]), *(_unlog(v) for v in m.group(6, 7, 8, 9)))
                )
        return rows[since:]


# --------------------------------------------------------------------------- Hugo


@dataclass
class Post:
    """One post of a :class:`FeedSite`. ``summary`` set = summary-only in the feeds."""

    slug: str
    title: str
    body: str
    date: dt.datetime
    summary: str | None = None
    categories: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    author: str = "Ada Lovelace"
    lastmod: dt.datetime | None = None
    enclosure: str | None = None  # a path under the site ("media/episode.mp3")

    @property
    def summary_only(self) -> bool:
        return self.summary is not None

    def markdown(self) -> str:
        """The content file Hugo reads (YAML front matter, JSON-quoted strings)."""
        q = json.dumps
        lines = [
            "---",
            f"title: {_yaml_str(self.title)}",
            f"date: {self.date.isoformat()}",
            f"slug: {q(self.slug)}",
            f"author: {_yaml_str(self.author)}",
            f"categories: [{', '.join(_yaml_str(c) for c in self.categories)}]",
            f"tags: [{', '.join(_yaml_str(t) for t in self.tags)}]",
        ]
        if self.lastmod:
            lines.append(f"lastmod: {self.lastmod.isoformat()}")
        if self.enclosure:
            lines.append(f"enclosure: {q(self.enclosure)}")
        lines.append("---")
        text = "\n".join(lines) + "\n"
        if self.summary is not None:
            text += self.summary + "\n\n<!--more-->\n\n"
        return text + self.body + "\n"


def _yaml_str(value: str) -> str:
    """A YAML double-quoted scalar; control characters as \\xNN / \\uNNNN escapes."""
    out = []
    for ch in value:
        o = ord(ch)
        if ch in '"\\':
            out.append("\\" + ch)
        elif o < 0x20 or o == 0x7F or 0x80 <= o <= 0x9F:
            out.append(f"\\x{o:02x}")
        elif 0x2028 <= o <= 0x2029 or 0x202A <= o <= 0x202E:
            out.append(f"\\u{o:04x}")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def _xml_title(raw: bool) -> str:
    return "{{ .Title }}" if raw else f"{{{{ .Title | replaceRE `{_XML_BAD}` `` }}}}"


def _templates(raw_controls: bool) -> dict[str, str]:
    title = _xml_title(raw_controls)
    site_title = "{{ .Site.Title }}"
    rss = f"""{{{{- printf "<?xml version=\\"1.0\\" encoding=\\"utf-8\\"?>" | safeHTML }}}}
<rss version="2.0" xmlns:atom="http://www.w3.org/2005/Atom" xmlns:dc="http://purl.org/dc/elements/1.1/">
  <channel>
    <title>{site_title}</title>
    <link>{{{{ .Permalink }}}}</link>
    <description>Posts on {site_title}</description>
    <language>en</language>
    <generator>Hugo {{{{ hugo.Version }}}}</generator>
    <ttl>{{{{ .Site.Params.ttl }}}}</ttl>
    {{{{ with .Site.LastChange }}}}<lastBuildDate>{{{{ .Format "Mon, 02 Jan 2006 15:04:05 -0700" | safeHTML }}}}</lastBuildDate>{{{{ end }}}}
    <atom:link href="{{{{ .Permalink }}}}index.xml" rel="self" type="application/rss+xml"/>
    {{{{- range where .Site.RegularPages "Section" "posts" }}}}
    <item>
      <title>{title}</title>
      <link>{{{{ .Permalink }}}}</link>
      <guid isPermaLink="true">{{{{ .Permalink }}}}</guid>
      <pubDate>{{{{ .Date.Format "Mon, 02 Jan 2006 15:04:05 -0700" | safeHTML }}}}</pubDate>
      <dc:creator>{{{{ .Params.author }}}}</dc:creator>
      {{{{- range .Params.categories }}}}
      <category>{{{{ . }}}}</category>
      {{{{- end }}}}
      {{{{- range .Params.tags }}}}
      <category domain="tag">{{{{ . }}}}</category>
      {{{{- end }}}}
      {{{{- with .Params.enclosure }}}}
      <enclosure url="{{{{ $.Site.BaseURL }}}}{{{{ . }}}}" length="{{{{ $.Site.Params.enclosureLength }}}}" type="audio/mpeg"/>
      {{{{- end }}}}
      <description>{{{{ if .Truncated }}}}{{{{ .Summary | html }}}}{{{{ else }}}}{{{{ .Content | html }}}}{{{{ end }}}}</description>
    </item>
    {{{{- end }}}}
  </channel>
</rss>
"""
    atom = f"""{{{{- printf "<?xml version=\\"1.0\\" encoding=\\"utf-8\\"?>" | safeHTML }}}}
<feed xmlns="http://www.w3.org/2005/Atom">
  <title>{site_title}</title>
  <id>{{{{ .Permalink }}}}</id>
  <link href="{{{{ .Permalink }}}}" rel="alternate" type="text/html"/>
  <link href="{{{{ .Permalink }}}}atom.xml" rel="self" type="application/atom+xml"/>
  <updated>{{{{ .Site.LastChange.Format "2006-01-02T15:04:05-07:00" | safeHTML }}}}</updated>
  <generator>Hugo</generator>
  {{{{- range where .Site.RegularPages "Section" "posts" }}}}
  <entry>
    <title type="text">{title}</title>
    <id>{{{{ .Permalink }}}}</id>
    <link href="{{{{ .Permalink }}}}" rel="alternate" type="text/html"/>
    {{{{- with .Params.enclosure }}}}
    <link href="{{{{ $.Site.BaseURL }}}}{{{{ . }}}}" rel="enclosure" type="audio/mpeg" length="{{{{ $.Site.Params.enclosureLength }}}}"/>
    {{{{- end }}}}
    <published>{{{{ .Date.Format "2006-01-02T15:04:05-07:00" | safeHTML }}}}</published>
    <updated>{{{{ .Lastmod.Format "2006-01-02T15:04:05-07:00" | safeHTML }}}}</updated>
    <author><name>{{{{ .Params.author }}}}</name></author>
    {{{{- range .Params.categories }}}}
    <category term="{{{{ . }}}}"/>
    {{{{- end }}}}
    {{{{- range .Params.tags }}}}
    <category term="{{{{ . }}}}" scheme="{{{{ $.Site.BaseURL }}}}tags/"/>
    {{{{- end }}}}
    {{{{- if .Truncated }}}}
    <summary type="html">{{{{ .Summary | html }}}}</summary>
    {{{{- else }}}}
    <content type="html">{{{{ .Content | html }}}}</content>
    {{{{- end }}}}
  </entry>
  {{{{- end }}}}
</feed>
"""
    # JSON Feed 1.1 through jsonify, which escapes every control character.
    jsonfeed = """{{- $items := slice -}}
{{- range where .Site.RegularPages "Section" "posts" -}}
  {{- $item := dict "id" .Permalink "url" .Permalink "title" .Title
        "date_published" (.Date.Format "2006-01-02T15:04:05-07:00")
        "date_modified" (.Lastmod.Format "2006-01-02T15:04:05-07:00")
        "authors" (slice (dict "name" .Params.author))
        "tags" (union (.Params.categories | default slice) (.Params.tags | default slice)) -}}
  {{- if .Truncated -}}
    {{- $item = merge $item (dict "summary" (.Summary | plainify | htmlUnescape) "content_html" (string .Summary)) -}}
  {{- else -}}
    {{- $item = merge $item (dict "content_html" (string .Content)) -}}
  {{- end -}}
  {{- with .Params.enclosure -}}
    {{- $item = merge $item (dict "attachments" (slice (dict "url" (print $.Site.BaseURL .) "mime_type" "audio/mpeg" "size_in_bytes" $.Site.Params.enclosureLength))) -}}
  {{- end -}}
  {{- $items = $items | append $item -}}
{{- end -}}
{{- dict "version" "https://jsonfeed.org/version/1.1" "title" .Site.Title "home_page_url" .Permalink
    "feed_url" (print .Permalink "feed.json") "items" $items | jsonify (dict "indent" "  ") -}}
"""
    head = """<meta charset="utf-8"><title>{{ .Title }}</title>
  <link rel="alternate" type="application/rss+xml" title="RSS" href="{{ .Site.BaseURL }}index.xml">
  <link rel="alternate" type="application/atom+xml" title="Atom" href="{{ .Site.BaseURL }}atom.xml">
  <link rel="alternate" type="application/feed+json" title="JSON Feed" href="{{ .Site.BaseURL }}feed.json">"""
    chrome_top = """<header class="site-header"><nav><a href="{{ .Site.BaseURL }}">Home</a> | <a href="{{ .Site.BaseURL }}about/">About</a> | <a href="{{ .Site.BaseURL }}index.xml">RSS</a></nav></header>"""
    chrome_side = """<aside class="sidebar"><h2>Recent posts</h2><ul>{{ range first 5 (where .Site.RegularPages "Section" "posts") }}<li><a href="{{ .Permalink }}">{{ .Title }}</a></li>{{ end }}</ul><p>Subscribe to our newsletter!</p></aside>
<footer class="site-footer"><p>© Broadsheet test site. All rights reserved. <a href="{{ .Site.BaseURL }}privacy/">Privacy</a></p></footer>"""
    return {
        "index.rss.xml": rss,
        "index.atom.xml": atom,
        "index.jsonfeed.json": jsonfeed,
        "index.html": f"""<!DOCTYPE html>
<html lang="en"><head>{head}</head>
<body>{chrome_top}
<main><h1>{{{{ .Site.Title }}}}</h1><ul>
{{{{ range where .Site.RegularPages "Section" "posts" }}}}<li><a href="{{{{ .Permalink }}}}">{{{{ .Title }}}}</a> {{{{ .Date.Format "2006-01-02" }}}}</li>
{{{{ end }}}}</ul></main>
{chrome_side}
</body></html>
""",
        "_default/single.html": f"""<!DOCTYPE html>
<html lang="en"><head>{head}</head>
<body>{chrome_top}
<main><article class="post">
<h1>{{{{ .Title }}}}</h1>
<p class="meta">By {{{{ .Params.author }}}} on <time datetime="{{{{ .Date.Format "2006-01-02T15:04:05-07:00" | safeHTML }}}}">{{{{ .Date.Format "2 January 2006" }}}}</time></p>
{{{{ .Content }}}}
</article></main>
{chrome_side}
</body></html>
""",
        "_default/list.html": """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{{ .Title }}</title></head>
<body><ul>{{ range .Pages }}<li><a href="{{ .Permalink }}">{{ .Title }}</a></li>{{ end }}</ul></body></html>
""",
    }


def _site_config(base_url: str, title: str) -> str:
    return f"""baseURL = {json.dumps(base_url)}
title = {json.dumps(title)}
languageCode = "en"
summaryLength = 1000000
buildFuture = true
disableKinds = ["taxonomy", "term", "sitemap", "robotsTXT", "404"]
enableRobotsTXT = false
[params]
ttl = 60
enclosureLength = {_ENCLOSURE_BYTES}
[outputs]
home = ["HTML", "RSS", "Atom", "JSONFeed"]
section = ["HTML"]
[mediaTypes."application/atom+xml"]
suffixes = ["xml"]
[mediaTypes."application/feed+json"]
suffixes = ["json"]
[outputFormats.Atom]
mediaType = "application/atom+xml"
baseName = "atom"
isPlainText = false
[outputFormats.JSONFeed]
mediaType = "application/feed+json"
baseName = "feed"
isPlainText = true
[markup.goldmark.renderer]
unsafe = true
"""


_ENCLOSURE_BYTES = 4096
_PARAGRAPHS = (
    "<p>The council met on Tuesday to discuss the new tram line; residents asked about noise.</p>",
    "<p>Researchers reported a <em>small</em> but significant effect, and urged caution.</p>",
    "<h2>What happens next</h2>\n<ul>\n<li>A public consultation</li>\n<li>A vote in spring</li>\n</ul>",
    '<p>See <a href="https://example.org/report">the full report</a> for the details.</p>',
    "<blockquote><p>“It is a good day for the city,” said the mayor.</p></blockquote>",
)


def default_posts(n: int, *, start: dt.datetime | None = None) -> list[Post]:
    """``n`` posts (oldest first): non-ASCII and hostile titles, categories and tags,
    dates one day apart in several time zones, every third post summary-only, one with an
    enclosure. Deterministic."""
    start = start or dt.datetime(2024, 3, 1, 9, 30, tzinfo=dt.UTC)
    posts = []
    titles = list(HOSTILE_TITLES) + list(_NON_ASCII_TITLES)
    for i in range(n):
        zone = _ZONES[i % len(_ZONES)]
        tz = dt.UTC if zone == "Z" else dt.datetime.strptime(zone, "%z").tzinfo
        date = (start + dt.timedelta(days=i, minutes=7 * i)).astimezone(tz)
        title = (
            f"{titles[i % len(titles)]} #{i + 1}"
            if i < len(titles)
            else f"Post number {i + 1}: {titles[i % len(titles)]}"
        )
        body = "\n\n".join(_PARAGRAPHS[(i + k) % len(_PARAGRAPHS)] for k in range(3))
        posts.append(
            Post(
                slug=f"post-{i + 1:03d}",
                title=title,
                body=body,
                date=date,
                summary=f"<p>Summary of post {i + 1}: the gist, in one line.</p>" if i % 3 == 2 else None,
                categories=(_CATEGORIES[i % len(_CATEGORIES)],)
                + ((_CATEGORIES[(i + 2) % len(_CATEGORIES)],) if i % 2 else ()),
                tags=(_TAGS[i % len(_TAGS)],),
                author=("Ada Lovelace", "Zoë Ødegård", "李小龍")[i % 3],
                enclosure="media/episode.mp3" if i == 1 else None,
            )
        )
    return posts


class FeedSite:
    """A Hugo site with RSS, Atom and JSON Feed, built and served by nginx on loopback.

    ``posts``: how many default posts (see :func:`default_posts`), or a list of
    :class:`Post`. Attributes after :meth:`start`: ``url``, ``feed_url`` (RSS), ``atom_url``,
    ``json_url``, ``posts`` (current, oldest first), ``server`` (the :class:`StaticServer`),
    ``public`` (the served directory), ``builds`` (how many builds ran).
    """

    def __init__(
        self,
        posts: int | Sequence[Post] = 12,
        host: str = DEFAULT_HOST,
        *,
        title: str = "Broadsheet Feed Test Site",
        raw_controls: bool = False,
        gzip: bool = False,
        build_timeout: float = 60.0,
    ) -> None:
        self.posts: list[Post] = default_posts(posts) if isinstance(posts, int) else list(posts)
        self.title = title
        self.raw_controls = raw_controls
        self.build_timeout = build_timeout
        self.builds = 0
        self._p = _Processes()
        self._host = host
        self._gzip = gzip
        self.server: StaticServer | None = None
        self.url = self.feed_url = self.atom_url = self.json_url = ""

    def __enter__(self) -> FeedSite:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"<FeedSite {self.url or self._host} {len(self.posts)} posts>"

    @property
    def tmp(self) -> Path | None:
        return self._p.tmp

    @property
    def public(self) -> Path:
        assert self._p.tmp is not None
        return self._p.tmp / "public"

    @property
    def running(self) -> bool:
        return self.server is not None and self.server.running

    def start(self) -> FeedSite:
        """Start nginx (it fixes the base URL), then build the site into ``public``."""
        if self.server is not None:
            return self
        reason = available()
        if reason:
            raise FeedSiteError(f"cannot run the feed site here: {reason}")
        _running.add(self)
        try:
            tmp = self._p.open()
            self.public.mkdir()
            self.server = StaticServer(self.public, self._host, gzip=self._gzip).start()
            self.url = self.server.url
            self.feed_url, self.atom_url, self.json_url = (
                self.url + "index.xml",
                self.url + "atom.xml",
                self.url + "feed.json",
            )
            src = tmp / "site"
            (src / "content" / "posts").mkdir(parents=True)
            (src / "static" / "media").mkdir(parents=True)
            (src / "static" / "media" / "episode.mp3").write_bytes(b"ID3" + bytes(_ENCLOSURE_BYTES - 3))
            (src / "config.toml").write_text(_site_config(self.url, self.title))
            for name, text in _templates(self.raw_controls).items():
                path = src / "layouts" / name
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(text)
            (src / "content" / "about.md").write_text('---\ntitle: "About"\n---\nA test site.\n')
            self.rebuild()
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        """Stop nginx, remove the temp dir (hugo runs only while building)."""
        if self.server is not None:
            self.server.stop()
            self.server = None
        self._p.close()
        _running.discard(self)

    # content

    def post(self, slug: str) -> Post:
        for p in self.posts:
            if p.slug == slug:
                return p
        raise KeyError(slug)

    def add_post(
        self,
        title: str,
        body: str = "<p>New.</p>",
        *,
        summary: str | None = None,
        categories: Iterable[str] = (),
        tags: Iterable[str] = (),
        date: dt.datetime | None = None,
        slug: str | None = None,
        author: str = "Ada Lovelace",
    ) -> Post:
        """Add a post (visible after :meth:`rebuild`); ``date`` defaults to now (UTC, to the
        second), or a second after the newest post, so added posts keep their order."""
        if date is None:
            date = dt.datetime.now(dt.UTC).replace(microsecond=0)
            if self.posts:
                date = max(date, max(p.date for p in self.posts) + dt.timedelta(seconds=1))
        slug = slug or f"post-{len(self.posts) + 1:03d}-{int(time.time() * 1000) % 100000}"
        if any(p.slug == slug for p in self.posts):
            raise ValueError(f"slug {slug!r} exists")
        post = Post(
            slug=slug,
            title=title,
            body=body,
            date=date,
            summary=summary,
            categories=tuple(categories),
            tags=tuple(tags),
            author=author,
        )
        self.posts.append(post)
        return post

    def edit_post(self, slug: str, **changes: object) -> Post:
        """Change fields of a post in place (same slug, so the same GUID); ``lastmod``
        becomes now unless given. Visible after :meth:`rebuild`."""
        if "slug" in changes:
            raise ValueError("the slug is the post's identity; add a new post instead")
        changes.setdefault("lastmod", dt.datetime.now(dt.UTC).replace(microsecond=0))
        for key in ("categories", "tags"):
            if key in changes:
                changes[key] = tuple(changes[key])  # type: ignore[arg-type]
        i = self.posts.index(self.post(slug))
        self.posts[i] = replace(self.posts[i], **changes)  # type: ignore[arg-type]
        return self.posts[i]

    def remove_post(self, slug: str) -> None:
        """Drop a post (gone from the feeds after :meth:`rebuild`)."""
        self.posts.remove(self.post(slug))

    def rebuild(self) -> list[str]:
        """Build with hugo and deploy the changed files; return their paths (relative)."""
        tmp = self._p.tmp
        assert tmp is not None, "start() first"
        src = tmp / "site"
        content = src / "content" / "posts"
        wanted = {f"{p.slug}.md": p.markdown() for p in self.posts}
        for f in content.iterdir():
            if f.name not in wanted:
                f.unlink()
        for name, text in wanted.items():
            path = content / name
            if not path.exists() or path.read_text() != text:
                path.write_text(text)
        out = tmp / f"build-{self.builds}"
        hugo = _which("hugo")
        assert hugo
        env = {k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy")}
        env["HUGO_CACHEDIR"] = str(tmp / "hugo-cache")
        env["HOME"] = str(tmp)
        argv = [
            hugo,
            "--quiet",
            "--source",
            str(src),
            "--destination",
            str(out),
            "--noBuildLock",
            "--cleanDestinationDir",
        ]
        code, log = _run_once(argv, env=env, cwd=src, timeout=self.build_timeout)
        if code != 0:
            raise FeedSiteError(f"hugo build failed ({code}):\n{log[-3000:]}")
        self.builds += 1
        changed = _deploy(out, self.public)
        shutil.rmtree(out, ignore_errors=True)
        return changed


def _deploy(build: Path, public: Path) -> list[str]:
    """Mirror ``build`` into ``public``: changed files by rename with a newer mtime (by a
    second at least), unchanged files untouched, vanished files removed."""
    changed = []
    seen = set()
    for path in sorted(build.rglob("*")):
        rel = path.relative_to(build)
        seen.add(rel)
        target = public / rel
        if path.is_dir():
            target.mkdir(exist_ok=True)
            continue
        data = path.read_bytes()
        old_mtime = None
        if target.exists():
            if target.read_bytes() == data:
                continue
            old_mtime = target.stat().st_mtime
        staging = target.with_name(f".{target.name}.deploy")
        staging.write_bytes(data)
        now = time.time()
        mtime = max(now, old_mtime + 1) if old_mtime is not None else now
        os.utime(staging, (mtime, mtime))
        os.replace(staging, target)
        changed.append(str(rel))
    for path in sorted(public.rglob("*"), reverse=True):
        if path.relative_to(public) not in seen:
            if path.is_dir():
                shutil.rmtree(path, ignore_errors=True)
            else:
                path.unlink(missing_ok=True)
            changed.append(str(path.relative_to(public)))
    return changed


# --------------------------------------------------------------------------- CLI


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        prog="python -m tests.e2e.feedsite", description="Serve a Hugo test site with feeds on loopback until Ctrl-C."
    )
    ap.add_argument("--host", default=DEFAULT_HOST)
    ap.add_argument("--posts", type=int, default=12)
    ap.add_argument("--raw-controls", action="store_true")
    ap.add_argument("--gzip", action="store_true")
    args = ap.parse_args(argv)
    if reason := available():
        print(f"cannot run: {reason}", file=sys.stderr)
        return 2
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    with FeedSite(args.posts, args.host, raw_controls=args.raw_controls, gzip=args.gzip) as site:
        print(
            f"URL:   {site.url}\nRSS:   {site.feed_url}\nAtom:  {site.atom_url}\nJSON:  {site.json_url}\n"
            f"dir:   {site.tmp}\nCtrl-C to stop.",
            flush=True,
        )
        try:
            while site.running:
                time.sleep(0.5)
            return 1
        except KeyboardInterrupt:
            pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
