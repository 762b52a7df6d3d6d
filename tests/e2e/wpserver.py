"""Start and stop a REAL WordPress on loopback, for the e2e tests and the benchmarks.

Uses Debian's packages (``apt-get install wordpress mariadb-server php-cli php-mysql``) and
needs write access to ``/etc/wordpress`` (i.e. root): Debian's ``wp-config.php`` reads
``/etc/wordpress/config-<host>.php``, where <host> is the request's host without the port.

Each :class:`WordPress` gets

* a private MariaDB: a fresh data directory in a temp dir, ``--skip-networking`` (no TCP port
  at all), a unix socket inside the temp dir; it never touches a system MariaDB;
* ``/etc/wordpress/config-<host>.php`` (removed again on stop) and a temp ``wp-content``
  (symlinks to Debian's themes/plugins, a must-use plugin from ``tests/e2e/php/``, uploads);
* ``PHP_CLI_SERVER_WORKERS=4 php -S <host>:<port> -t /usr/share/wordpress`` on a loopback
  address (default 127.0.0.42, falls back to 127.0.0.1) and a free port.

The site: pretty permalinks ``/%year%/%monthnum%/%postname%/`` (``pretty_permalinks=False``
leaves only ``?rest_route=``), ``WP_ENVIRONMENT_TYPE=local`` (Application Passwords work over
plain http), no cron, no mail, no outgoing HTTP except loopback, timezone UTC unless
``timezone=`` says otherwise. Comments: open, threaded, name+email required, no moderation
(``moderate_comments=True`` holds every anonymous comment), no "previously approved author"
rule, never closed for old posts, and no flood check (``comment_flood=True`` keeps it).

Usage::

    from tests.e2e.wpserver import WordPress, available

    if (reason := available()) is None:
        with WordPress() as wp:                      # installed and answering in ~2 s
            cat = wp.create_category("Science")
            pid = wp.create_post("Hello", "<p>Body</p>", categories=[cat],
                                 date="2024-05-01 12:00:00")       # site-local time
            wp.create_comment(pid, "First!")                       # approved
            wp.create_comment(pid, "Held", approved=False)         # comment_approved '0'
            pw = wp.create_app_password(wp.admin_user)             # HTTP Basic for REST
            ids = wp.seed_bulk(posts=2000, comments=6000)          # one PHP process
            print(wp.url, wp.php("echo get_bloginfo('name');"))

Every helper that changes content runs as the administrator, so post content is stored
unfiltered (``<script>`` survives, as on a compromised site). All bulk work happens inside
one PHP process (:meth:`WordPress.call`); do not loop over :meth:`create_post` for
thousands of posts.

Processes are started in their own process groups under a small watchdog that kills the
group when the Python process dies, even by SIGKILL; :meth:`WordPress.stop`, the context
manager and an ``atexit`` hook kill the groups and remove the config file and the temp dir.
A crashed run's leftovers (config files and temp dirs whose owner PID is gone) are cleaned
up by the next start. Several harnesses (other pytest processes) can run side by side: a
taken host moves on to the next loopback address.

Command line (a seeded server for benchmarks or manual testing; Ctrl-C stops it)::

    python -m tests.e2e.wpserver --posts 2000 --comments 6000
"""

from __future__ import annotations

import argparse
import atexit
import ctypes
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

__all__ = ["DEFAULT_HOST", "PERMALINKS", "WordPress", "WordPressError", "available"]

WP_ROOT = Path("/usr/share/wordpress")
WP_CONFIG_DIR = Path("/etc/wordpress")
PHP_DIR = Path(__file__).resolve().parent / "php"
DEFAULT_HOST = "127.0.0.42"
PERMALINKS = "/%year%/%monthnum%/%postname%/"
_SBIN = ("/usr/sbin", "/usr/local/sbin", "/sbin", "/usr/bin", "/usr/local/bin", "/bin")
_TMP_PREFIX = "broadsheet-wp-"
_CONFIG_MARKER = "// broadsheet-e2e-harness"
_JSON_MARKER = "\n@@BROADSHEET-JSON@@\n"


class WordPressError(RuntimeError):
    """A step of starting, driving or stopping the test WordPress failed."""


# --------------------------------------------------------------------------- discovery


def _which(*names: str) -> str | None:
    for name in names:
        found = shutil.which(name)
        if found:
            return found
        for d in _SBIN:
            p = Path(d) / name
            if p.is_file() and os.access(p, os.X_OK):
                return str(p)
    return None


def _binaries() -> dict[str, str | None]:
    return {
        "php": _which("php"),
        "mariadbd": _which("mariadbd", "mysqld"),
        "install_db": _which("mariadb-install-db", "mysql_install_db"),
        "client": _which("mariadb", "mysql"),
    }


_php_mysqli: bool | None = None


def available() -> str | None:
    """None when this machine can run :class:`WordPress`, else the reason it cannot."""
    global _php_mysqli
    if not sys.platform.startswith("linux"):
        return "the WordPress e2e harness needs Linux"
    for f in ("wp-load.php", "wp-config.php", "wp-settings.php"):
        if not (WP_ROOT / f).is_file():
            return f"{WP_ROOT / f} is missing (apt-get install wordpress)"
    bins = _binaries()
    if not bins["php"]:
        return "php is missing (apt-get install php-cli php-mysql)"
    if not bins["mariadbd"]:
        return "mariadbd/mysqld is missing (apt-get install mariadb-server)"
    if not bins["install_db"]:
        return "mariadb-install-db is missing (apt-get install mariadb-server)"
    if not bins["client"]:
        return "the mariadb/mysql client is missing (apt-get install mariadb-client)"
    if not WP_CONFIG_DIR.is_dir():
        return f"{WP_CONFIG_DIR} does not exist (apt-get install wordpress)"
    if not os.access(WP_CONFIG_DIR, os.W_OK):
        return f"cannot write {WP_CONFIG_DIR} (run the e2e tests as root)"
    if _php_mysqli is None:
        try:
            out = subprocess.run([bins["php"], "-m"], capture_output=True, text=True, timeout=30).stdout
        except (OSError, subprocess.SubprocessError) as exc:
            return f"php does not run: {exc}"
        _php_mysqli = "mysqli" in out.split()
    if not _php_mysqli:
        return "php has no mysqli extension (apt-get install php-mysql)"
    return None


def _can_bind(host: str) -> bool:
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            s.bind((host, 0))
        return True
    except OSError:
        return False


def _free_port(host: str) -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def _is_loopback(host: str) -> bool:
    return host == "localhost" or host.startswith("127.")


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _group_members(pgid: int, *, zombies: bool = False) -> list[int]:
    pids = []
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat", "rb") as f:
                stat = f.read().rsplit(b")", 1)[1].split()
        except OSError:
            continue
        # fields after "(comm)": state ppid pgrp ...
        if int(stat[2]) == pgid and (zombies or stat[0] != b"Z"):
            pids.append(int(entry.name))
    return pids


def _prctl(option: int, arg: int = 0) -> int:
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        if option == 37:  # PR_GET_CHILD_SUBREAPER
            value = ctypes.c_int(0)
            return value.value if libc.prctl(37, ctypes.byref(value), 0, 0, 0) == 0 else -1
        return libc.prctl(option, arg, 0, 0, 0)
    except Exception:
        return -1


def _kill_group(proc: subprocess.Popen) -> None:
    """SIGKILL the process group whose leader is ``proc`` and wait until all its members are
    gone, zombies included. The php -S master does not reap its workers; so that they do not
    linger as zombies until init gets round to them (a second or two here), this process
    becomes a child subreaper for the moment, adopts them and reaps them itself."""
    pgid = proc.pid
    members = [p for p in _group_members(pgid, zombies=True) if p != pgid]
    was_subreaper = _prctl(37) == 1
    became_subreaper = not was_subreaper and _prctl(36, 1) == 0  # PR_SET_CHILD_SUBREAPER
    try:
        try:
            os.killpg(pgid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pass
        if became_subreaper or was_subreaper:
            for pid in members:
                try:
                    os.waitpid(pid, 0)
                except ChildProcessError:  # not adopted by us (reaped elsewhere)
                    pass
    finally:
        if became_subreaper:
            _prctl(36, 0)
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and _group_members(pgid, zombies=True):
        time.sleep(0.02)


def _sweep_stale() -> None:
    """Remove config files and temp dirs left behind by harness processes that died."""
    for cfg in WP_CONFIG_DIR.glob("config-*.php"):
        try:
            head = cfg.read_text(errors="replace")[:300]
        except OSError:
            continue
        if _CONFIG_MARKER not in head:
            continue
        pid = _owner_pid(head)
        if pid and not _pid_alive(pid):
            cfg.unlink(missing_ok=True)
    for d in Path(tempfile.gettempdir()).glob(_TMP_PREFIX + "*"):
        try:
            pid = int((d / "owner.pid").read_text().strip())
        except (OSError, ValueError):
            continue
        if not _pid_alive(pid):
            for pgid_file in d.glob("*.pgid"):
                try:
                    pgid = int(pgid_file.read_text().strip())
                except (OSError, ValueError):
                    continue
                # Only processes that are provably ours: their command line names the dir.
                for member in _group_members(pgid):
                    try:
                        with open(f"/proc/{member}/cmdline", "rb") as f:
                            if str(d).encode() in f.read():
                                os.kill(member, signal.SIGKILL)
                    except OSError:
                        pass
            shutil.rmtree(d, ignore_errors=True)


def _owner_pid(config_text: str) -> int | None:
    for token in config_text.split():
        if token.startswith("pid="):
            try:
                return int(token[4:])
            except ValueError:
                return None
    return None


def _php_str(value: str) -> str:
    """A PHP single-quoted string literal."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


# --------------------------------------------------------------------------- the server

_running: set[WordPress] = set()


@atexit.register
def _stop_all() -> None:
    for wp in list(_running):
        try:
            wp.stop()
        except Exception:
            pass


class WordPress:
    """A throwaway WordPress on loopback; see the module docstring.

    ``host`` must be loopback; when its config file is taken by another running harness
    (another pytest process, say) the next address is used (127.0.0.43, ...) unless
    ``auto_host=False``; when 127.0.0.42 cannot be bound at all, 127.0.0.1 is used.

    Attributes after :meth:`start`: ``url`` ("http://host:port/"), ``host``, ``port``,
    ``admin_user``, ``admin_password``, ``admin_email``, ``rest_root`` (the REST index URL),
    ``tmp`` (the temp dir), ``wp_version``, ``timings`` (seconds per start phase).
    """

    def __init__(
        self,
        host: str = DEFAULT_HOST,
        port: int | None = None,
        *,
        pretty_permalinks: bool = True,
        comment_flood: bool = False,
        moderate_comments: bool = False,
        timezone: str = "UTC",
        title: str = "Broadsheet Test Site",
        admin_user: str = "admin",
        admin_password: str | None = None,
        admin_email: str = "admin@example.com",
        workers: int = 4,
        options: dict[str, Any] | None = None,
        start_timeout: float = 60.0,
        auto_host: bool = True,
    ) -> None:
        if not _is_loopback(host):
            raise ValueError(f"host must be a loopback address, not {host!r}")
        self.requested_host = host
        self.host = host
        self.port = port or 0
        self.pretty_permalinks = pretty_permalinks
        self.comment_flood = comment_flood
        self.moderate_comments = moderate_comments
        self.timezone = timezone
        self.title = title
        self.admin_user = admin_user
        self.admin_password = admin_password or "pw-" + secrets.token_urlsafe(12)
        self.admin_email = admin_email
        self.workers = workers
        self.extra_options = dict(options or {})
        self.start_timeout = start_timeout
        self.auto_host = auto_host
        self.table_prefix = "wp_"
        self.db_name = "wordpress"
        self.db_user = "wordpress"
        self.db_password = secrets.token_hex(12)
        self.url = ""
        self.rest_root = ""
        self.wp_version = ""
        self.tmp: Path | None = None
        self.timings: dict[str, float] = {}
        self._bins = _binaries()
        self._procs: dict[str, subprocess.Popen] = {}
        self._watch_fds: list[int] = []
        self._logs: list[Any] = []
        self._config_path: Path | None = None
        self._snippet_seq = 0
        self._lock = threading.Lock()
        self._started = False

    # ----------------------------------------------------------------- lifecycle

    def __enter__(self) -> WordPress:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"<WordPress {self.url or self.requested_host} {'running' if self._started else 'stopped'}>"

    @property
    def socket_path(self) -> Path:
        assert self.tmp is not None
        return self.tmp / "mysql.sock"

    def start(self) -> WordPress:
        if self._started:
            return self
        reason = available()
        if reason:
            raise WordPressError(f"cannot run WordPress here: {reason}")
        _running.add(self)
        t_all = time.monotonic()
        try:
            _sweep_stale()
            if not _can_bind(self.host):
                if self.host == "127.0.0.1" or not _can_bind("127.0.0.1"):
                    raise WordPressError(f"cannot bind {self.host} (nor 127.0.0.1)")
                self.host = "127.0.0.1"
            self._claim_config()
            self.tmp = Path(tempfile.mkdtemp(prefix=_TMP_PREFIX))
            (self.tmp / "owner.pid").write_text(str(os.getpid()))
            self._phase("mariadb", self._start_mariadb)
            self._phase("php_server", self._start_php_server)
            self.url = f"http://{self.host}:{self.port}/"
            # What the site advertises in its Link header.
            self.rest_root = self.url + ("wp-json/" if self.pretty_permalinks else "index.php?rest_route=/")
            self._phase("config", self._write_config)
            self._phase("install", self._install)
            self._phase("ready", self._wait_http_ready)
            self._started = True
        except BaseException:
            self.stop()
            raise
        self.timings["total"] = time.monotonic() - t_all
        return self

    def _phase(self, name: str, fn) -> None:
        t = time.monotonic()
        fn()
        self.timings[name] = round(time.monotonic() - t, 3)

    def stop(self) -> None:
        """Kill the PHP server and MariaDB (process groups), remove config and temp dir."""
        procs, self._procs = self._procs, {}
        for name in ("php_server", "mariadbd"):
            proc = procs.get(name)
            if proc is not None:
                _kill_group(proc)
        for fd in self._watch_fds:
            try:
                os.close(fd)
            except OSError:
                pass
        self._watch_fds = []
        for f in self._logs:
            try:
                f.close()
            except OSError:
                pass
        self._logs = []
        if self._config_path is not None:
            try:
                head = self._config_path.read_text(errors="replace")[:300]
                if _CONFIG_MARKER in head and _owner_pid(head) == os.getpid():
                    self._config_path.unlink()
            except OSError:
                pass
            self._config_path = None
        if self.tmp is not None:
            shutil.rmtree(self.tmp, ignore_errors=True)
            self.tmp = None
        self._started = False
        _running.discard(self)

    @property
    def running(self) -> bool:
        return self._started and all(p.poll() is None for p in self._procs.values())

    # ----------------------------------------------------------------- start phases

    def _claim_config(self) -> None:
        """Create /etc/wordpress/config-<host>.php atomically (O_EXCL) so that two harnesses
        (this process or another pytest run) never share a host. With ``auto_host`` a taken
        address moves on to the next one (127.0.0.43, ...)."""
        hosts = [self.host]
        if self.auto_host and self.host.startswith("127.") and self.host != "127.0.0.1":
            a, b, c, d = (int(x) for x in self.host.split("."))
            hosts += [f"127.{b}.{c}.{x}" for x in range(d + 1, 255)]
        problems = []
        for host in hosts:
            path = WP_CONFIG_DIR / f"config-{host}.php"
            for _ in range(2):
                try:
                    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
                except FileExistsError:
                    try:
                        head = path.read_text(errors="replace")[:300]
                    except OSError:
                        head = ""
                    pid = _owner_pid(head) if _CONFIG_MARKER in head else None
                    if pid and not _pid_alive(pid):
                        path.unlink(missing_ok=True)  # left by a harness that died; retry
                        continue
                    problems.append(
                        f"{path} exists" + (f" (harness pid {pid})" if pid else " (not written by this harness)")
                    )
                    break
                with os.fdopen(fd, "w") as f:
                    f.write(f"<?php {_CONFIG_MARKER} pid={os.getpid()} (starting)\n")
                if host != self.host and not _can_bind(host):
                    path.unlink(missing_ok=True)
                    break
                self.host = host
                self._config_path = path
                return
        raise WordPressError(
            "no free loopback host: " + "; ".join(problems[:3]) + ("" if self.auto_host else " (pass another host=)")
        )

    def _spawn(self, name: str, argv: list[str], env: dict[str, str] | None = None) -> subprocess.Popen:
        """Start ``argv`` in a new process group under a tiny sh watchdog that kills the whole
        group when either the program exits or this Python process dies (even by SIGKILL:
        the watchdog blocks reading a pipe whose only writer is this process; EOF = orphaned).
        The php -S workers are grandchildren that PR_SET_PDEATHSIG would not cover."""
        assert self.tmp is not None
        log = open(self.tmp / f"{name}.log", "wb")
        self._logs.append(log)
        r, w = os.pipe()
        script = f'"$@" & child=$!; (read _ <&{r}; kill -KILL 0) & wait "$child"; kill -KILL 0'
        try:
            proc = subprocess.Popen(
                ["/bin/sh", "-c", script, f"broadsheet-{name}", *argv],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=self.tmp,
                env=env,
                start_new_session=True,
                pass_fds=(r,),
            )
        except BaseException:
            os.close(w)
            raise
        finally:
            os.close(r)
        self._watch_fds.append(w)
        self._procs[name] = proc
        (self.tmp / f"{name}.pgid").write_text(str(proc.pid))  # for _sweep_stale after a crash
        return proc

    def _log_tail(self, name: str, n: int = 3000) -> str:
        if self.tmp is None:
            return ""
        try:
            return (self.tmp / name).read_text(errors="replace")[-n:]
        except OSError:
            return ""

    def _start_mariadb(self) -> None:
        assert self.tmp is not None
        datadir = self.tmp / "mysql"
        user = ["--user=root"] if os.geteuid() == 0 else []
        tuning = ["--innodb-log-file-size=32M", "--innodb-buffer-pool-size=256M"]
        res = subprocess.run(
            [
                self._bins["install_db"],
                "--no-defaults",
                f"--datadir={datadir}",
                *user,
                "--auth-root-authentication-method=normal",
                "--skip-test-db",
                "--skip-name-resolve",
                *tuning,
            ],
            capture_output=True,
            text=True,
            timeout=120,
            cwd=self.tmp,
        )
        if res.returncode != 0:
            raise WordPressError(
                f"mariadb-install-db failed ({res.returncode}):\n{res.stdout[-2000:]}\n{res.stderr[-2000:]}"
            )
        sock = self.socket_path
        proc = self._spawn(
            "mariadbd",
            [
                self._bins["mariadbd"],
                "--no-defaults",
                f"--datadir={datadir}",
                *user,
                f"--socket={sock}",
                f"--pid-file={self.tmp / 'mariadb.pid'}",
                "--skip-networking",
                f"--log-error={self.tmp / 'mariadb.err'}",
                f"--tmpdir={self.tmp}",
                "--skip-name-resolve",
                "--skip-log-bin",
                "--innodb-flush-log-at-trx-commit=0",
                "--innodb-doublewrite=0",
                "--character-set-server=utf8mb4",
                "--collation-server=utf8mb4_unicode_ci",
                "--max-connections=200",
                *tuning,
            ],
        )
        deadline = time.monotonic() + self.start_timeout
        while True:
            if proc.poll() is not None:
                raise WordPressError(f"mariadbd exited ({proc.returncode}):\n{self._log_tail('mariadb.err')}")
            if sock.exists():
                try:
                    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
                        s.settimeout(2)
                        s.connect(str(sock))
                        if s.recv(16):
                            break
                except OSError:
                    pass
            if time.monotonic() > deadline:
                raise WordPressError(
                    f"mariadbd not ready after {self.start_timeout}s:\n{self._log_tail('mariadb.err')}"
                )
            time.sleep(0.03)
        self._sql_root(
            f"CREATE DATABASE `{self.db_name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;"
            f"CREATE USER '{self.db_user}'@'localhost' IDENTIFIED BY '{self.db_password}';"
            f"GRANT ALL PRIVILEGES ON `{self.db_name}`.* TO '{self.db_user}'@'localhost';"
        )

    def _start_php_server(self) -> None:
        assert self.tmp is not None
        env = {k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy")}
        env["PHP_CLI_SERVER_WORKERS"] = str(self.workers)
        last = ""
        for attempt in range(5):
            port = self.port if (self.port and attempt == 0) else _free_port(self.host)
            proc = self._spawn(
                "php_server",
                [
                    self._bins["php"],
                    "-d",
                    "display_errors=0",
                    "-d",
                    "log_errors=1",
                    "-d",
                    f"error_log={self.tmp / 'php-errors.log'}",
                    "-d",
                    "memory_limit=512M",
                    "-d",
                    "variables_order=EGPCS",
                    "-S",
                    f"{self.host}:{port}",
                    "-t",
                    str(WP_ROOT),
                ],
                env=env,
            )
            deadline = time.monotonic() + 10
            while proc.poll() is None and time.monotonic() < deadline:
                try:
                    with socket.create_connection((self.host, port), timeout=1):
                        self.port = port
                        return
                except OSError:
                    time.sleep(0.02)
            last = self._log_tail("php_server.log")
            _kill_group(proc)
            if self.port and attempt == 0:
                raise WordPressError(f"php -S could not listen on {self.host}:{port}:\n{last}")
        raise WordPressError(f"php -S did not start:\n{last}")

    def _write_config(self) -> None:
        assert self.tmp is not None and self._config_path is not None
        content = self.tmp / "wp-content"
        content.mkdir()
        for d in ("themes", "plugins", "languages"):
            (content / d).symlink_to(WP_ROOT / "wp-content" / d)
        (content / "uploads").mkdir()
        (content / "mu-plugins").mkdir()
        shutil.copy(PHP_DIR / "mu-plugin.php", content / "mu-plugins" / "broadsheet-e2e.php")
        base = self.url.rstrip("/")
        salts = "".join(
            f"define({_php_str(k)}, {_php_str(secrets.token_urlsafe(48))});\n"
            for k in (
                "AUTH_KEY",
                "SECURE_AUTH_KEY",
                "LOGGED_IN_KEY",
                "NONCE_KEY",
                "AUTH_SALT",
                "SECURE_AUTH_SALT",
                "LOGGED_IN_SALT",
                "NONCE_SALT",
            )
        )
        text = f"""<?php {_CONFIG_MARKER} pid={os.getpid()} tmp={self.tmp}
/* Written by tests/e2e/wpserver.py; removed when the test server stops. */
define('DB_NAME', {_php_str(self.db_name)});
define('DB_USER', {_php_str(self.db_user)});
define('DB_PASSWORD', {_php_str(self.db_password)});
define('DB_HOST', {_php_str("localhost:" + str(self.socket_path))});
define('DB_CHARSET', 'utf8mb4');
define('DB_COLLATE', '');
$table_prefix = {_php_str(self.table_prefix)};
define('WP_HOME', {_php_str(base)});
define('WP_SITEURL', {_php_str(base)});
define('WP_CONTENT_DIR', {_php_str(str(content))});
define('WP_CONTENT_URL', {_php_str(base + "/wp-content")});
define('WP_ENVIRONMENT_TYPE', 'local');
define('DISABLE_WP_CRON', true);
define('WP_HTTP_BLOCK_EXTERNAL', true);
define('AUTOMATIC_UPDATER_DISABLED', true);
define('WP_AUTO_UPDATE_CORE', false);
define('WP_DEBUG', false);
define('WP_DISABLE_FATAL_ERROR_HANDLER', true);
define('BROADSHEET_COMMENT_FLOOD', {"true" if self.comment_flood else "false"});
{salts}"""
        tmp_cfg = self._config_path.with_suffix(".php.tmp")
        tmp_cfg.write_text(text)
        os.chmod(tmp_cfg, 0o644)
        os.replace(tmp_cfg, self._config_path)

    def _install(self) -> None:
        options: dict[str, Any] = {
            "blogdescription": "A WordPress for Broadsheet's end-to-end tests",
            "timezone_string": self.timezone,
            "gmt_offset": "",
            "default_comment_status": "open",
            "default_ping_status": "closed",
            "default_pingback_flag": "0",
            "require_name_email": "1",
            "comment_registration": "0",
            "comment_moderation": "1" if self.moderate_comments else "0",
            "comment_previously_approved": "0",
            "close_comments_for_old_posts": "0",
            "thread_comments": "1",
            "thread_comments_depth": "5",
            "page_comments": "0",
            "comments_notify": "0",
            "moderation_notify": "0",
            "comment_max_links": "10",
            "ping_sites": "",
            "blog_public": "0",
            "upload_path": str(self.tmp / "wp-content" / "uploads") if self.tmp else "",
        }
        if self.timezone in ("UTC", "Etc/UTC"):
            options["timezone_string"] = ""
            options["gmt_offset"] = "0"
        options.update(self.extra_options)
        out = self.call(
            PHP_DIR / "install.php",
            {
                "title": self.title,
                "admin_user": self.admin_user,
                "admin_email": self.admin_email,
                "admin_password": self.admin_password,
                "permalink_structure": PERMALINKS if self.pretty_permalinks else "",
                "options": options,
            },
            installing=True,
        )
        self.wp_version = out["wp_version"]

    def _wait_http_ready(self) -> None:
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        deadline = time.monotonic() + self.start_timeout
        last: object = None
        while time.monotonic() < deadline:
            proc = self._procs.get("php_server")
            if proc is None or proc.poll() is not None:
                raise WordPressError(f"php -S exited:\n{self._log_tail('php_server.log')}")
            try:
                with opener.open(self.rest_root, timeout=10) as resp:
                    body = resp.read()
                    if resp.status == 200 and b'"namespaces"' in body:
                        return
                    last = f"HTTP {resp.status}: {body[:300]!r}"
            except urllib.error.HTTPError as exc:
                last = f"HTTP {exc.code}: {exc.read()[:500]!r}"
            except OSError as exc:
                last = exc
            time.sleep(0.05)
        raise WordPressError(f"{self.rest_root} did not answer 200: {last}\n{self._log_tail('php-errors.log')}")

    # ----------------------------------------------------------------- PHP and SQL

    def php(
        self, code: str, stdin: str | bytes | None = None, *, timeout: float = 600, installing: bool = False
    ) -> str:
        """Run a PHP snippet in the CLI with WordPress loaded (as the admin user); return stdout.

        ``code`` is PHP without the opening tag (a leading ``<?php`` is ignored). Raises
        :class:`WordPressError` with stderr when PHP exits non-zero (fatal error, uncaught
        exception). ``broadsheet_input()`` returns the JSON given as ``stdin``.
        """
        if self.tmp is None:
            raise WordPressError("WordPress is not started")
        body = code.lstrip()
        if body.startswith("<?php"):
            body = body[5:]
        with self._lock:
            self._snippet_seq += 1
            path = self.tmp / f"snippet-{self._snippet_seq}.php"
        path.write_text(f"<?php require {_php_str(str(PHP_DIR / 'load.php'))};\n{body}\n")
        try:
            return self.php_file(path, stdin, timeout=timeout, installing=installing)
        finally:
            path.unlink(missing_ok=True)

    def php_file(
        self, path: str | Path, stdin: str | bytes | None = None, *, timeout: float = 600, installing: bool = False
    ) -> str:
        """Run a PHP file (which should ``require tests/e2e/php/load.php``); return stdout."""
        if self.tmp is None:
            raise WordPressError("WordPress is not started")
        env = {k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy")}
        env["BROADSHEET_WP_HTTP_HOST"] = f"{self.host}:{self.port}"
        env["BROADSHEET_WP_INSTALLING"] = "1" if installing else "0"
        data = stdin.encode() if isinstance(stdin, str) else stdin
        res = subprocess.run(
            [
                self._bins["php"],
                "-d",
                "display_errors=0",
                "-d",
                "log_errors=1",
                "-d",
                "error_log=",
                "-d",
                "memory_limit=2G",
                str(path),
            ],
            input=data if data is not None else b"",
            capture_output=True,
            timeout=timeout,
            env=env,
            cwd=self.tmp,
        )
        out = res.stdout.decode("utf-8", "replace")
        err = res.stderr.decode("utf-8", "replace")
        if res.returncode != 0:
            try:
                code = Path(path).read_text(errors="replace")[:2000]
            except OSError:
                code = str(path)
            raise WordPressError(
                f"PHP failed (exit {res.returncode}):\n{err.strip()}\n"
                f"--- stdout ---\n{out[-2000:]}\n--- code ---\n{code}"
            )
        return out

    def call(self, code: str | Path, data: Any = None, *, timeout: float = 600, installing: bool = False) -> Any:
        """Run a snippet (or a PHP file, given as a Path) that reads ``broadsheet_input()``
        (``data`` as JSON) and returns its result with ``broadsheet_output($value)``; returns
        that value decoded."""
        stdin = json.dumps(data if data is not None else {})
        if isinstance(code, Path):
            out = self.php_file(code, stdin, timeout=timeout, installing=installing)
        else:
            out = self.php(code, stdin, timeout=timeout, installing=installing)
        if _JSON_MARKER not in out:
            raise WordPressError(f"PHP printed no result:\n{out[-2000:]}\n--- code ---\n{str(code)[:2000]}")
        return json.loads(out.rsplit(_JSON_MARKER, 1)[1])

    def _client(self, *args: str, database: str | None = None, sql: str) -> str:
        argv = [
            self._bins["client"],
            "--no-defaults",
            f"--socket={self.socket_path}",
            "--user=root",
            "--default-character-set=utf8mb4",
            *args,
        ]
        if database:
            argv.append(f"--database={database}")
        res = subprocess.run(argv, input=sql.encode(), capture_output=True, timeout=120)
        if res.returncode != 0:
            raise WordPressError(f"SQL failed: {res.stderr.decode(errors='replace')}\n--- SQL ---\n{sql[:2000]}")
        return res.stdout.decode("utf-8", "replace")

    def _sql_root(self, sql: str) -> None:
        self._client(sql=sql)

    def query(self, sql: str) -> list[dict[str, str | None]]:
        """Run SQL directly against the site's database (bypassing WordPress and its caches).

        Returns the rows of the last result set as dicts of strings (None for NULL).
        ``{prefix}`` in ``sql`` is replaced with the table prefix (``wp_``).
        """
        sql = sql.replace("{prefix}", self.table_prefix)
        out = self._client("--xml", database=self.db_name, sql=sql)
        rows: list[dict[str, str | None]] = []
        if not out.strip():
            return rows
        nil = "{http://www.w3.org/2001/XMLSchema-instance}nil"
        # --xml prints one <resultset> document per statement; keep the last one.
        docs = [d for d in out.split('<?xml version="1.0"?>') if d.strip()]
        root = ET.fromstring(docs[-1])
        for row in root.iter("row"):
            rows.append({f.get("name"): (None if f.get(nil) == "true" else (f.text or "")) for f in row.iter("field")})
        return rows

    # ----------------------------------------------------------------- content helpers

    def create_category(self, name: str, parent: int = 0, *, slug: str | None = None, description: str = "") -> int:
        args: dict[str, Any] = {"parent": int(parent), "description": description}
        if slug:
            args["slug"] = slug
        return int(
            self.call(
                "$in = broadsheet_input();"
                "$t = broadsheet_check(wp_insert_term(wp_slash($in['name']), 'category', wp_slash($in['args'])), 'wp_insert_term');"
                "broadsheet_output((int) $t['term_id']);",
                {"name": name, "args": args},
            )
        )

    _POST_FIELDS = {
        "title": "post_title",
        "content": "post_content",
        "excerpt": "post_excerpt",
        "status": "post_status",
        "date": "post_date",
        "password": "post_password",
        "categories": "post_category",
        "author": "post_author",
        "slug": "post_name",
        "type": "post_type",
    }

    def _post_args(self, fields: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
        args: dict[str, Any] = {}
        extra: dict[str, Any] = {}
        for key, value in fields.items():
            if key in ("sticky", "modified", "tags"):
                extra[key] = value
            elif key == "categories":
                args["post_category"] = [int(c) for c in value]
            else:
                args[self._POST_FIELDS.get(key, key)] = value
        return args, extra

    _POST_PHP = r"""
$in = broadsheet_input();
$args = $in['args'];
if (isset($args['post_author']) && !is_int($args['post_author'])) {
    $u = get_user_by('login', $args['post_author']);
    if (!$u) { throw new RuntimeException('no such user: ' . $args['post_author']); }
    $args['post_author'] = $u->ID;
}
if (isset($args['post_date']) && !isset($args['post_date_gmt'])) {
    $args['post_date_gmt'] = get_gmt_from_date($args['post_date']);
    $args['edit_date'] = true;
}
if (!empty($in['update'])) {
    $args['ID'] = (int) $in['update'];
    if (!get_post($args['ID'])) { throw new RuntimeException('no such post: ' . $args['ID']); }
    $id = broadsheet_check(wp_update_post(wp_slash($args), true), 'wp_update_post');
} else {
    $id = broadsheet_check(wp_insert_post(wp_slash($args), true), 'wp_insert_post');
}
$extra = $in['extra'];
if (array_key_exists('tags', $extra)) {
    broadsheet_check(wp_set_post_tags($id, $extra['tags'], false), 'wp_set_post_tags');
}
if (array_key_exists('sticky', $extra)) {
    if ($extra['sticky']) { stick_post($id); } else { unstick_post($id); }
}
if (array_key_exists('modified', $extra)) {
    global $wpdb;
    $wpdb->update($wpdb->posts, array(
        'post_modified' => $extra['modified'],
        'post_modified_gmt' => get_gmt_from_date($extra['modified']),
    ), array('ID' => $id));
    clean_post_cache($id);
}
broadsheet_output((int) $id);
"""

    def create_post(
        self,
        title: str,
        content: str = "",
        *,
        categories: Iterable[int] = (),
        date: str | None = None,
        password: str | None = None,
        sticky: bool = False,
        comment_status: str = "open",
        author: int | str | None = None,
        status: str = "publish",
        excerpt: str = "",
        **fields: Any,
    ) -> int:
        """Create a post; returns its ID.

        ``date`` is site-local ``'Y-m-d H:i:s'`` (a future date makes the post 'future',
        i.e. scheduled and invisible). ``author`` is a user ID or login (default: admin).
        Extra ``fields`` go to ``wp_insert_post`` (``slug=``, ``tags=[...]``,
        ``modified='Y-m-d H:i:s'`` forces post_modified afterwards, raw ``post_*`` keys).
        """
        f: dict[str, Any] = {
            "title": title,
            "content": content,
            "status": status,
            "excerpt": excerpt,
            "comment_status": comment_status,
            "ping_status": "closed",
            "categories": list(categories),
        }
        if not f["categories"]:
            del f["categories"]
        if date is not None:
            f["date"] = date
        if password is not None:
            f["password"] = password
        if author is not None:
            f["author"] = author
        if sticky:
            f["sticky"] = True
        f.update(fields)
        args, extra = self._post_args(f)
        return int(self.call(self._POST_PHP, {"args": args, "extra": extra, "update": 0}))

    def update_post(self, post_id: int, **fields: Any) -> None:
        """Update a post with ``wp_update_post`` (same field names as :meth:`create_post`,
        e.g. ``title=``, ``content=``, ``date=``, ``status=``, ``sticky=``, ``categories=``).

        WordPress sets post_modified to *now* on every update; pass ``modified='Y-m-d H:i:s'``
        (site-local) to force a specific modification time afterwards.
        """
        args, extra = self._post_args(fields)
        self.call(self._POST_PHP, {"args": args, "extra": extra, "update": int(post_id)})

    def delete_post(self, post_id: int, *, force: bool = True) -> None:
        """Delete (force=True) or trash a post."""
        self.call(
            "$in = broadsheet_input();"
            "broadsheet_check(wp_delete_post((int) $in['id'], (bool) $in['force']), 'wp_delete_post');"
            "broadsheet_output(true);",
            {"id": int(post_id), "force": force},
        )

    def create_comment(
        self,
        post_id: int,
        content: str,
        *,
        parent: int = 0,
        author: str = "Reader",
        email: str = "reader@example.com",
        approved: bool | str = True,
        date: str | None = None,
        url: str = "",
        user_id: int = 0,
    ) -> int:
        """Insert a comment directly (no moderation/flood/duplicate checks); returns its ID.

        ``approved``: True → '1', False → '0' (held), or 'spam' / 'trash'. ``date`` is
        site-local 'Y-m-d H:i:s' (default now).
        """
        status = "1" if approved is True else "0" if approved is False else str(approved)
        return int(
            self.call(
                r"""
$in = broadsheet_input();
$c = $in['comment'];
if ($in['date'] !== null) {
    $c['comment_date'] = $in['date'];
    $c['comment_date_gmt'] = get_gmt_from_date($in['date']);
}
if (!get_post($c['comment_post_ID'])) { throw new RuntimeException('no such post: ' . $c['comment_post_ID']); }
$id = broadsheet_check(wp_insert_comment(wp_slash($c)), 'wp_insert_comment');
broadsheet_output((int) $id);
""",
                {
                    "date": date,
                    "comment": {
                        "comment_post_ID": int(post_id),
                        "comment_parent": int(parent),
                        "comment_author": author,
                        "comment_author_email": email,
                        "comment_author_url": url,
                        "comment_author_IP": "127.0.0.1",
                        "comment_agent": "broadsheet-e2e",
                        "comment_content": content,
                        "comment_approved": status,
                        "comment_type": "comment",
                        "user_id": int(user_id),
                    },
                },
            )
        )

    def set_comment_status(self, comment_id: int, status: str) -> None:
        """'approve', 'hold', 'spam' or 'trash' (wp_set_comment_status)."""
        self.call(
            "$in = broadsheet_input();"
            "broadsheet_check(wp_set_comment_status((int) $in['id'], $in['status'], true), 'wp_set_comment_status');"
            "broadsheet_output(true);",
            {"id": int(comment_id), "status": status},
        )

    def set_option(self, name: str, value: Any) -> None:
        """update_option(name, value); value may be any JSON-able Python value."""
        self.call(
            "$in = broadsheet_input(); update_option($in['name'], $in['value']); broadsheet_output(true);",
            {"name": name, "value": value},
        )

    def get_option(self, name: str) -> Any:
        return self.call("$in = broadsheet_input(); broadsheet_output(get_option($in['name']));", {"name": name})

    def create_user(
        self,
        login: str,
        role: str = "author",
        display_name: str | None = None,
        *,
        email: str | None = None,
        password: str | None = None,
    ) -> int:
        """Create a user (e-mail login@example.com, random password unless given); returns the ID."""
        return int(
            self.call(
                r"""
$in = broadsheet_input();
$id = broadsheet_check(wp_insert_user($in), 'wp_insert_user');
broadsheet_output((int) $id);
""",
                {
                    "user_login": login,
                    "user_email": email or f"{login}@example.com",
                    "role": role,
                    "user_pass": password or secrets.token_urlsafe(16),
                    "display_name": display_name or login,
                    "nickname": display_name or login,
                },
            )
        )

    def create_app_password(self, user_login: str, name: str | None = None) -> str:
        """Create an Application Password for the user; returns the plain password
        (use it with HTTP Basic: ``(user_login, password)``)."""
        return str(
            self.call(
                r"""
$in = broadsheet_input();
$u = get_user_by('login', $in['login']);
if (!$u) { throw new RuntimeException('no such user: ' . $in['login']); }
$r = broadsheet_check(WP_Application_Passwords::create_new_application_password($u->ID, array('name' => $in['name'])), 'create_new_application_password');
broadsheet_output($r[0]);
""",
                {"login": user_login, "name": name or f"broadsheet-e2e-{secrets.token_hex(4)}"},
            )
        )

    def seed_bulk(
        self,
        posts: int,
        comments: int,
        categories: int | Sequence[str] = 12,
        body_bytes: int = 4000,
        *,
        seed: int = 1,
        interval_minutes: int = 60,
        reply_ratio: float = 0.3,
        held_ratio: float = 0.0,
        author: int = 1,
        via_api: bool = False,
    ) -> dict[str, Any]:
        """Create many posts and comments fast, in ONE PHP process (deterministic for a seed).

        Posts are published every ``interval_minutes``, the newest that long before now;
        each has 1–2 of the categories (an int makes that many: half top-level, half
        children) and an HTML body of about ``body_bytes`` (paragraphs, headings, lists,
        links). Comments are spread randomly over the posts, dated after their post and
        before now; ``reply_ratio`` of them reply to an earlier comment on the same post,
        ``held_ratio`` are held ('0').

        By default the rows are written with multi-row INSERTs, exactly as
        ``wp_insert_post``/``wp_insert_comment`` would store them (slug, guid, GMT dates,
        post_modified = post_date, term relationships and counts, comment_count): 2,000
        posts + 6,000 comments take ~1.5 s. ``via_api=True`` calls the WordPress functions
        per row (all hooks run; ~28 s for the same).

        Returns ``{"posts": [ids oldest first], "comments": [ids], "categories": [ids],
        "seconds": float, "timings": {...}}``.
        """
        return self.call(
            PHP_DIR / "seed.php",
            {
                "posts": int(posts),
                "comments": int(comments),
                "categories": categories if isinstance(categories, int) else list(categories),
                "body_bytes": int(body_bytes),
                "seed": int(seed),
                "interval_minutes": int(interval_minutes),
                "reply_ratio": float(reply_ratio),
                "held_ratio": float(held_ratio),
                "author": int(author),
                "via_api": bool(via_api),
            },
            timeout=3600,
        )

    # ----------------------------------------------------------------- direct DB reads

    def count_comments(self, post_id: int | None = None, *, status: str | None = None) -> int:
        """Number of comments in the DB (for one post, or the whole site), any status unless
        ``status`` ('1', '0', 'spam', 'trash') is given."""
        where = []
        if post_id is not None:
            where.append(f"comment_post_ID = {int(post_id)}")
        if status is not None:
            where.append("comment_approved = '" + status.replace("'", "") + "'")
        sql = "SELECT COUNT(*) AS n FROM {prefix}comments" + (" WHERE " + " AND ".join(where) if where else "")
        return int(self.query(sql)[0]["n"] or 0)

    def comments_of(self, post_id: int) -> list[dict[str, Any]]:
        """All comments of a post straight from the DB, oldest ID first: dicts with
        id, post, parent, author, email, url, content, approved ('1'/'0'/'spam'/'trash'),
        date, date_gmt (strings), user_id, type, ip, agent."""
        rows = self.query(
            "SELECT comment_ID, comment_post_ID, comment_parent, comment_author, comment_author_email,"
            " comment_author_url, comment_content, comment_approved, comment_date, comment_date_gmt,"
            " user_id, comment_type, comment_author_IP, comment_agent FROM {prefix}comments"
            f" WHERE comment_post_ID = {int(post_id)} ORDER BY comment_ID"
        )
        return [
            {
                "id": int(r["comment_ID"] or 0),
                "post": int(r["comment_post_ID"] or 0),
                "parent": int(r["comment_parent"] or 0),
                "author": r["comment_author"],
                "email": r["comment_author_email"],
                "url": r["comment_author_url"],
                "content": r["comment_content"],
                "approved": r["comment_approved"],
                "date": r["comment_date"],
                "date_gmt": r["comment_date_gmt"],
                "user_id": int(r["user_id"] or 0),
                "type": r["comment_type"],
                "ip": r["comment_author_IP"],
                "agent": r["comment_agent"],
            }
            for r in rows
        ]

    def post_row(self, post_id: int) -> dict[str, str | None]:
        """The raw wp_posts row of a post (dates, modified, status, password, ...)."""
        rows = self.query(f"SELECT * FROM {{prefix}}posts WHERE ID = {int(post_id)}")
        if not rows:
            raise KeyError(post_id)
        return rows[0]


# --------------------------------------------------------------------------- CLI


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        prog="python -m tests.e2e.wpserver", description="Start a seeded throwaway WordPress on loopback until Ctrl-C."
    )
    ap.add_argument("--host", default=DEFAULT_HOST)
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--posts", type=int, default=200)
    ap.add_argument("--comments", type=int, default=600)
    ap.add_argument("--categories", type=int, default=12)
    ap.add_argument("--body-bytes", type=int, default=4000)
    ap.add_argument("--held-ratio", type=float, default=0.0)
    ap.add_argument("--timezone", default="UTC")
    ap.add_argument("--no-pretty-permalinks", action="store_true")
    ap.add_argument("--moderate-comments", action="store_true")
    ap.add_argument("--comment-flood", action="store_true", help="keep WordPress's comment flood check")
    ap.add_argument("--workers", type=int, default=4)
    args = ap.parse_args(argv)

    reason = available()
    if reason:
        print(f"cannot run: {reason}", file=sys.stderr)
        return 2
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    signal.signal(signal.SIGHUP, lambda *_: sys.exit(0))
    with WordPress(
        args.host,
        args.port or None,
        pretty_permalinks=not args.no_pretty_permalinks,
        comment_flood=args.comment_flood,
        moderate_comments=args.moderate_comments,
        timezone=args.timezone,
        workers=args.workers,
    ) as wp:
        print(f"started in {wp.timings['total']:.1f}s {wp.timings}", flush=True)
        if args.posts or args.comments:
            t = time.monotonic()
            res = wp.seed_bulk(args.posts, args.comments, args.categories, args.body_bytes, held_ratio=args.held_ratio)
            print(
                f"seeded {len(res['posts'])} posts, {len(res['comments'])} comments, "
                f"{len(res['categories'])} categories in {time.monotonic() - t:.1f}s",
                flush=True,
            )
        app_pw = wp.create_app_password(wp.admin_user, "cli")
        print(f"URL:       {wp.url}")
        print(f"REST:      {wp.rest_root}")
        print(f"admin:     {wp.admin_user} / {wp.admin_password}  ({wp.url}wp-login.php)")
        print(f"app pass:  {wp.admin_user} / {app_pw}")
        print(f"temp dir:  {wp.tmp}")
        print("Ctrl-C to stop.", flush=True)
        try:
            while wp.running:
                time.sleep(0.5)
            print("a server process died; stopping", file=sys.stderr)
            return 1
        except KeyboardInterrupt:
            print("\nstopping", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
