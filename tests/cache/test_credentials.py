"""Credentials: a private file, a hidden password, https only (or loopback)."""

from __future__ import annotations

import logging
import os
import stat

import pytest

from cache import credentials
from cache.credentials import Credentials
from cache.errors import AuthError, InsecureTransport

SECRET = "abcd efgh ijkl mnop qrst uvwx"


def test_save_load_remove_round_trip(tmp_path):
    path = credentials.save(Credentials("news", "ada", SECRET), tmp_path / "conf")
    credentials.save(Credentials("other.site", "bob", 'we"ird\\pass'), tmp_path / "conf")
    assert credentials.load("news", tmp_path / "conf") == Credentials("news", "ada", SECRET)
    assert credentials.load("other.site", tmp_path / "conf").password == 'we"ird\\pass'
    assert credentials.load("nope", tmp_path / "conf") is None
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert credentials.remove("news", tmp_path / "conf") is True
    assert credentials.remove("news", tmp_path / "conf") is False
    assert credentials.load("news", tmp_path / "conf") is None
    assert credentials.load("other.site", tmp_path / "conf") is not None


def test_default_location_is_the_config_dir(tmp_path):
    path = credentials.save(Credentials("news", "ada", SECRET))
    assert path == tmp_path / "config" / "credentials.toml"


def test_the_file_is_never_readable_by_others_even_under_a_lax_umask(tmp_path):
    old = os.umask(0)
    try:
        path = credentials.save(Credentials("news", "ada", SECRET), tmp_path)
    finally:
        os.umask(old)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_a_group_readable_file_is_tightened_with_a_warning(tmp_path, caplog):
    path = credentials.save(Credentials("news", "ada", SECRET), tmp_path)
    os.chmod(path, 0o644)
    with caplog.at_level(logging.WARNING):
        assert credentials.load("news", tmp_path) is not None
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert "readable by other users" in caplog.text
    assert SECRET not in caplog.text


def test_repr_and_str_hide_the_password():
    creds = Credentials("news", "ada", SECRET)
    assert SECRET not in repr(creds) and SECRET not in str(creds) and SECRET not in f"{creds}"
    assert "ada" in repr(creds)
    assert SECRET not in repr(credentials.BasicAuth(creds))


def test_a_broken_file_error_does_not_echo_its_contents(tmp_path):
    path = tmp_path / "credentials.toml"
    path.write_text(f'[sites.news]\nuser = "ada"\npassword = "{SECRET}\n')
    os.chmod(path, 0o600)
    with pytest.raises(Exception) as raised:
        credentials.load("news", tmp_path)
    assert SECRET not in str(raised.value)


@pytest.mark.parametrize(
    "url",
    [
        "https://news.example.test/wp-json/",
        "http://127.0.0.1:8080/wp-json/",
        "http://localhost/wp-json/",
        "http://[::1]:8000/wp-json/",
    ],
)
def test_check_transport_allows_https_and_loopback(url):
    credentials.check_transport(url)


@pytest.mark.parametrize(
    "url",
    [
        "http://news.example.test/wp-json/",
        "http://10.0.0.5/wp-json/",
        # names that merely look local may resolve anywhere
        "http://evil.localhost/wp-json/",
        "http://a.b.localhost:8080/wp-json/",
        "http://localhost.example.test/wp-json/",
        "http://127.0.0.1.nip.io/wp-json/",
    ],
)
def test_check_transport_refuses_plain_http_to_remote_hosts(url):
    with pytest.raises(InsecureTransport):
        credentials.check_transport(url)


def test_origin_and_user_id_are_saved_with_the_password(tmp_path):
    creds = Credentials("news", "ada", SECRET, origin="https://news.example.test", user_id=3)
    credentials.save(creds, tmp_path)
    assert credentials.load("news", tmp_path) == creds
    assert "***" in repr(creds) and SECRET not in repr(creds)
    # a file written before origins were recorded still loads (and is then never sent)
    (tmp_path / "credentials.toml").write_text(f'[sites.old]\nuser = "ada"\npassword = "{SECRET}"\n')
    os.chmod(tmp_path / "credentials.toml", 0o600)
    assert credentials.load("old", tmp_path) == Credentials("old", "ada", SECRET)


@pytest.mark.parametrize(
    ("url", "origin"),
    [
        ("HTTPS://News.Example.TEST:443/wp-json/", "https://news.example.test"),
        ("https://news.example.test:8443/blog/?rest_route=/", "https://news.example.test:8443"),
        ("http://127.0.0.1:8080/wp-json/", "http://127.0.0.1:8080"),
        ("http://[::1]:8000/wp-json/", "http://[::1]:8000"),
    ],
)
def test_origin_of(url, origin):
    assert credentials.origin_of(url) == origin


def test_check_origin():
    creds = Credentials("news", "ada", SECRET, origin="https://news.example.test")
    credentials.check_origin(creds, "https://news.example.test/wp-json/wp/v2/comments")
    for other in (
        "http://news.example.test/wp-json/",
        "https://news.example.test:8443/wp-json/",
        "https://other.example.test/wp-json/",
    ):
        with pytest.raises(AuthError, match=r"credentials were saved for https://news.example.test; run"):
            credentials.check_origin(creds, other)
    with pytest.raises(AuthError, match="login news"):
        credentials.check_origin(Credentials("news", "ada", SECRET), "https://news.example.test/wp-json/")


def test_delete_forgets_a_sites_credentials(tmp_path):
    credentials.save(Credentials("news", "ada", SECRET, origin="https://news.example.test"), tmp_path)
    assert credentials.delete("news", tmp_path) is True
    assert credentials.load("news", tmp_path) is None
    assert credentials.delete("news", tmp_path) is False


def test_check_transport_has_its_own_strict_loopback_rule(monkeypatch):
    """Not ``is_loopback`` (which once trusted ``*.localhost``): only loopback IPs and ``localhost``."""
    from cache import http

    monkeypatch.setattr(http, "is_loopback", lambda host: True)  # however lenient it may be
    for url in ("http://evil.localhost/wp-json/", "http://news.example.test/wp-json/"):
        with pytest.raises(InsecureTransport):
            credentials.check_transport(url)
    assert credentials.is_loopback_host("localhost") and credentials.is_loopback_host("127.0.0.2")
    assert credentials.is_loopback_host("[::1]") and not credentials.is_loopback_host("x.localhost")


def test_any_user_name_round_trips_through_the_file(tmp_path):
    from cache import credentials

    odd = credentials.Credentials(
        "news", 'Ada 🦆 "the" \\ Lovelace\nnext', "abcd efgh ijkl", origin="https://n.example"
    )
    credentials.save(odd, tmp_path)
    back = credentials.load("news", tmp_path)
    assert back is not None and back.user == odd.user and back.password == odd.password
