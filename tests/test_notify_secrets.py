"""Notification secrets: a `notify:` target without `name:` is shown by a name built from Apprise's privacy
rendering, and no token, key or password of any target reaches a log line, the database, the API or the
dashboard, also when every delivery fails. No test here touches the network: every host name fails to
resolve, and the loopback targets point at a closed port."""

from __future__ import annotations

import io
import json
import logging
import socket
import sqlite3
from contextlib import closing

import pytest
from fastapi.testclient import TestClient

from kratom_tracker import notify, privacy
from kratom_tracker.config.loader import load
from kratom_tracker.config.model import ConfigError, NotifyTarget
from kratom_tracker.store import Store
from kratom_tracker.web.app import ServerSettings, create_app
from test_notify import closed_port, outbox
from test_publish import build_event_db, collect

# URL shapes documented by Apprise (caronc/apprise-docs, locales/en/services/<service>/index.md, the
# "Syntax" and "Examples" sections: telegram, pushover, discord, slack, email, json, form, ntfy, matrix,
# gotify, msteams, signal), filled with made-up values that are easy to spot in any output. Each entry is
# (the URL, the parts of it that are secret). `{port}` is replaced by a closed port on 127.0.0.1.
TG_TOKEN = "4839574812:AAFD39kkdpWt3ywyRZergyOLMaJhac60qc"
PO_USER, PO_TOKEN, PO_GROUP = "uQiRzpo4DXghDmr9QzzfQu27cmVRsG", "azGDORePK8gMaC0QOYAMyEEuzJnyUi", \
    "gznej3rKEVAvPUxu9vvNnqpmZpokzF"
DC_ID, DC_TOKEN = "4174216298", "JHMHI8qBe7bk2ZwO5U711o3dV_js"
SL_A, SL_B, SL_C = "T1JJ3T3L2", "A1BRTD4JD", "TIiajkdnlazkcOXrIdevi7F"
SL_BOT = "xoxb-1234-1234-4ddbc191d40ee098cbaae6f3523ada2d"
NTFY_TOKEN = "tk_AgQdq7mVBoFD37zQVN29RhuMzNIz2"
MS_A = "a2f6c1d4-7e3b-4b8a-9c55-0f1e2d3c4b5a@9d8c7b6a-5f4e-4d3c-8b2a-1f0e9d8c7b6a"
MS_B, MS_C = "291289f63a8abd3593e834af4d79f9fe", "a2329f43-0ffb-46ab-948b-c9abdad9d643"

DOCUMENTED: list[tuple[str, list[str]]] = [
    # tgram://{bot_token}/{chat_id}/, tgram://{bot_token}/, tgram://{bot_token}/{chat_id}:{topic}/
    (f"tgram://{TG_TOKEN}/12315544/", [TG_TOKEN, TG_TOKEN.split(":")[1]]),
    (f"tgram://{TG_TOKEN}/", [TG_TOKEN, TG_TOKEN.split(":")[1]]),
    (f"tgram://{TG_TOKEN}/12315544:1234567/", [TG_TOKEN, TG_TOKEN.split(":")[1]]),
    # pover://{user_key}@{token}, .../{device_id}, .../#{group_key} (a group key looks like a user key)
    (f"pover://{PO_USER}@{PO_TOKEN}", [PO_USER, PO_TOKEN]),
    (f"pover://{PO_USER}@{PO_TOKEN}/iphone", [PO_USER, PO_TOKEN]),
    (f"pover://{PO_USER}@{PO_TOKEN}/#{PO_GROUP}", [PO_USER, PO_TOKEN, PO_GROUP]),
    (f"pover://{PO_USER}@{PO_TOKEN}?priority=emergency&interval=600&expire=3600", [PO_USER, PO_TOKEN]),
    # discord://{WebhookID}/{WebhookToken}/, discord://{botname}@..., the webhook URL as Discord gives it
    (f"discord://{DC_ID}/{DC_TOKEN}/", [DC_TOKEN]),
    (f"discord://tracker@{DC_ID}/{DC_TOKEN}/", [DC_TOKEN]),
    (f"https://discordapp.com/api/webhooks/{DC_ID}/{DC_TOKEN}", [DC_TOKEN]),
    # slack://{tokenA}/{tokenB}/{tokenC}/#{channel}, the hooks.slack.com URL,
    # slack://{botname}@{OAuthToken}/#{channel}
    (f"slack://{SL_A}/{SL_B}/{SL_C}/#kratom", [SL_B, SL_C]),
    (f"https://hooks.slack.com/services/{SL_A}/{SL_B}/{SL_C}", [SL_B, SL_C]),
    (f"slack://tracker@{SL_BOT}/#kratom", [SL_BOT]),
    # mailto://{user}:{password}@{domain}, mailtos://...:{port}/{to_email}, mailtos://{domain}?user=&pass=,
    # mailto://userid:password@example.com?smtp=...&from=...&name=...
    ("mailto://kt.alerts:Xq7-mail-pw-93@gmail.com", ["Xq7-mail-pw-93"]),
    ("mailtos://alerts:Zr4-smtp-pw-61@mail.example.org:587/editor@example.org", ["Zr4-smtp-pw-61"]),
    ("mailtos://example.org?user=alerts&pass=Wk2-query-pw-58", ["Wk2-query-pw-58"]),
    ("mailto://userid:Pv8-relay-pw-40@example.com?smtp=mail.example.com&from=noreply@example.com&name=no%20reply",
     ["Pv8-relay-pw-40"]),
    # json://{user}:{password}@{hostname}:{port}, ?token=, ?-token= (a GET argument), ?+X-Token= (a header)
    ("json://hook:Jn5-json-pw-27@127.0.0.1:{port}/hook?-token=tok-json-get-3381",
     ["Jn5-json-pw-27", "tok-json-get-3381"]),
    ("json://127.0.0.1:{port}/hook?token=tok-json-query-7702", ["tok-json-query-7702"]),
    ("jsons://hook:Jt6-jsons-pw-12@json.example.org/path/?token=tok-jsons-query-5190&+X-Token=hdr-jsons-5519",
     ["Jt6-jsons-pw-12", "tok-jsons-query-5190", "hdr-jsons-5519"]),
    # form://{user}:{password}@{hostname}:{port} with ?token= and ?-token=
    ("form://hook:Fm3-form-pw-88@127.0.0.1:{port}/?-token=tok-form-get-4410&token=tok-form-query-2207",
     ["Fm3-form-pw-88", "tok-form-get-4410", "tok-form-query-2207"]),
    # ntfy://{token}@{hostname}/{topics}, ntfys://{user}:{password}@{host}/{topics}, the `token` parameter
    (f"ntfy://{NTFY_TOKEN}@ntfy.example.org/kratom-alerts", [NTFY_TOKEN]),
    ("ntfys://alerts:Nt9-ntfy-pw-35@ntfy.example.org/kratom-alerts", ["Nt9-ntfy-pw-35"]),
    (f"ntfys://ntfy.example.org/kratom-alerts?auth=token&token={NTFY_TOKEN}", [NTFY_TOKEN]),
    # matrix://{user}:{password}@{hostname}/#{room_alias}, matrixs://.../!{room_id}, the t2bot webhook forms
    ("matrix://nuxref:Mx4-matrix-pw-71@matrix.example.org/#general", ["Mx4-matrix-pw-71"]),
    ("matrixs://nuxref:Mx4-matrix-pw-71@matrix.example.org/!abc123", ["Mx4-matrix-pw-71"]),
    ("matrix://t2botWebhookTokenQ8v3Lk2Zp", ["t2botWebhookTokenQ8v3Lk2Zp"]),
    ("matrixs://mxWebhookTok-6620@matrix.example.org:8448?mode=matrix", ["mxWebhookTok-6620"]),
    # gotify://{hostname}/{token}, gotifys://{hostname}:{port}/{path}/{token}
    ("gotify://gotify.example.org/AbCdEfGhIjKlMnO", ["AbCdEfGhIjKlMnO"]),
    ("gotifys://gotify.example.org:8443/my/gotify/path/AqzTp9WLm3xY2k", ["AqzTp9WLm3xY2k"]),
    # msteams://{team}/{tokenA}/{tokenB}/{tokenC}/, the legacy msteams://{tokenA}/{tokenB}/{tokenC}/ and the
    # webhook URL as Teams gives it (Apprise versions without the msteams plugin cannot read these)
    (f"msteams://kratomteam/{MS_A}/{MS_B}/{MS_C}/", [MS_A, MS_B, MS_C]),
    (f"msteams://{MS_A}/{MS_B}/{MS_C}/", [MS_A, MS_B, MS_C]),
    (f"https://kratomteam.office.com/webhook/{MS_A}/IncomingWebhook/{MS_B}/{MS_C}", [MS_A, MS_B, MS_C]),
    # signal://{user}:{password}@{hostname}:{port}/{from_phone}/{target}, signals://...
    ("signal://sig:Sg2-signal-pw-19@signal.example.org:9922/15555551234/18005551223", ["Sg2-signal-pw-19"]),
    ("signals://sig:Sg2-signal-pw-19@signal.example.org/15555551234", ["Sg2-signal-pw-19"]),
]
ALL_SECRETS = sorted({secret for _, secrets in DOCUMENTED for secret in secrets})


@pytest.fixture
def offline(monkeypatch):
    """Every host name fails to resolve (as it would on a machine without a network); 127.0.0.1 works."""
    real = socket.getaddrinfo

    def getaddrinfo(host, *args, **kwargs):
        if host == "127.0.0.1":
            return real(host, *args, **kwargs)
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)


@pytest.fixture
def operator_log():
    """A handler on the root logger at DEBUG, as an operator who logs everything would add one. (pytest's
    own capture also attaches to loggers that do not propagate, so it cannot stand in for it.)"""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    yield stream
    root.removeHandler(handler)
    root.setLevel(level)


def documented_urls() -> list[str]:
    """The documented URLs whose scheme the installed Apprise knows (the validator refuses the others)."""
    from kratom_tracker.config.loader import _apprise_knows

    port = str(closed_port())
    return [url.replace("{port}", port) for url, _ in DOCUMENTED if _apprise_knows(url)]


def notify_yaml(urls: list[str]) -> str:
    return "notify:\n" + "".join(f"  - url: {json.dumps(url)}\n" for url in urls)  # JSON strings are YAML


def assert_no_secret(text: str, where: str) -> None:
    leaked = [secret for secret in ALL_SECRETS if secret in text]
    assert not leaked, f"{where} holds {leaked}"


@pytest.mark.parametrize(("url", "secrets"), DOCUMENTED, ids=[url.split("://")[0] + f"-{n}"
                                                             for n, (url, _) in enumerate(DOCUMENTED)])
def test_a_target_without_a_name_is_shown_without_its_secrets(tmp_path, url, secrets):
    url = url.replace("{port}", "8080")
    (tmp_path / "sources.yaml").write_text(notify_yaml([url]) + "sources: []\n", encoding="utf-8")
    try:
        (target,) = load(tmp_path / "sources.yaml").notify
    except ConfigError as refused:  # a scheme the installed Apprise has no service for (msteams): refused,
        assert "unknown notification scheme" in str(refused)  # and the refusal shows no secret either
        assert secret_free(str(refused), secrets), str(refused)
        return
    assert target.name and target.url == url
    for secret in secrets:
        assert secret not in target.name, target.name
    assert secret_free(notify.target_key(target), secrets)


def secret_free(text: str, secrets: list[str]) -> bool:
    return not any(secret in text for secret in secrets)


def test_a_name_is_apprise_privacy_rendering_cut_to_scheme_account_and_host():
    assert privacy.display_name(f"tgram://{TG_TOKEN}/12315544/") == "tgram://4...c"
    assert privacy.display_name("json://hook:Jn5-json-pw-27@127.0.0.1:8000/hook?-token=x") == \
        "json://hook:****@127.0.0.1:8000"
    # Apprise cannot read this one (its msteams plugin is gone): the scheme alone
    assert privacy.display_name(f"msteams://{MS_A}/{MS_B}/{MS_C}/") == "msteams://"


def test_failed_deliveries_leak_no_secret_to_logs_database_api_or_dashboard(site, tmp_path, offline,
                                                                            operator_log, capsys):
    data = build_event_db(site, tmp_path, notify_yaml(documented_urls()))
    assert collect(data.sources, data.db) == 0  # a retry run: every target fails again
    captured = capsys.readouterr()
    log = operator_log.getvalue()
    assert_no_secret(log, "the log")
    assert "notify: tgram://4...c failed" in log  # the failures were logged, by display name
    assert_no_secret(captured.out + captured.err, "stdout/stderr")

    rows = outbox(data.db)
    assert rows and all(r["sent_at"] is None for r in rows) and any(r["last_error"] for r in rows)
    with closing(sqlite3.connect(data.db)) as conn:
        assert_no_secret("\n".join(conn.iterdump()), "the database")

    settings = ServerSettings(db=data.db, config=load(data.sources))
    with TestClient(create_app(settings)) as client:
        for path in ("/api/changes", "/api/sources", "/api/status/US-FL", "/openapi.json", "/", "/?q=US-FL",
                     "/feeds/all.atom"):
            answer = client.get(path)
            assert answer.status_code == 200, path
            assert_no_secret(answer.text, path)


def test_an_error_text_that_quotes_the_url_is_recorded_without_its_secrets(tmp_path):
    url = f"tgram://{TG_TOKEN}/12315544/"
    (tmp_path / "sources.yaml").write_text(notify_yaml([url]) + "sources: []\n", encoding="utf-8")
    config = load(tmp_path / "sources.yaml")

    def quoting(target: NotifyTarget, title: str, body: str) -> notify.SendOutcome:
        # What an HTTP library says when a connection fails: the request URL, with the bot token in it
        return notify.SendOutcome(
            False, f"ConnectionError: https://api.telegram.org/bot{TG_TOKEN}/sendMessage ({target.url})")

    with Store(tmp_path / "t.db") as store:
        notify.enqueue_system_notice(config, store, "source-failing", "t", "b")
        assert notify.deliver_pending(config, store, send=quoting).failed == 1
    (row,) = outbox(tmp_path / "t.db")
    assert "api.telegram.org" in row["last_error"]  # the rest of the error stays readable
    assert secret_free(row["last_error"], [TG_TOKEN, TG_TOKEN.split(":")[1], "4839574812"]), row["last_error"]


def test_outbox_rows_keyed_by_the_old_leaky_name_are_renamed_and_kept(tmp_path):
    url = f"tgram://{TG_TOKEN}/12315544/"
    (tmp_path / "sources.yaml").write_text(notify_yaml([url]) + "sources: []\n", encoding="utf-8")
    config = load(tmp_path / "sources.yaml")
    (target,) = config.notify
    # What earlier versions wrote: the URL's host part, the bot token, as the target's name
    old_key = f"tgram://{TG_TOKEN}#{notify.target_key(target).rsplit('#', 1)[1]}"
    with Store(tmp_path / "t.db") as store:
        store.db.execute("INSERT INTO outbox (target, kind, title, body, created_at, attempts, last_error) "
                         "VALUES (?, 'source-failing', 't', 'b', '2026-01-01T00:00:00Z', 1, ?)",
                         [old_key, f"failed for {url}"])
        report = notify.deliver_pending(config, store, send=lambda *_: notify.SendOutcome(False, "down"))
    assert report.failed == 1  # the old row was found under the new key and tried
    (row,) = outbox(tmp_path / "t.db")
    assert row["target"] == notify.target_key(target) and row["last_error"] == "down"
    assert secret_free(json.dumps(row), [TG_TOKEN])
