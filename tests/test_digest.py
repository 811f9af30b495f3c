"""E-mail digests through Apprise, delivered to a real SMTP server (aiosmtpd) on 127.0.0.1: one readable
message per period and target with every change that applies in its regions, sent once; `notify test
TARGET` sends a test message; the configuration refuses a bad digest or region."""

from __future__ import annotations

import email
import email.policy
import socket
import threading
from datetime import UTC, datetime, timedelta

import pytest
from aiosmtpd.controller import Controller

from conftest import run_cli, write_sources
from kratom_tracker import notify
from kratom_tracker.config.loader import load
from kratom_tracker.config.model import ConfigError
from kratom_tracker.notify import digest
from kratom_tracker.store import Store
from test_publish import build_event_db


class Mailbox:
    """An SMTP server on 127.0.0.1 that keeps every message it is given."""

    def __init__(self) -> None:
        self.messages: list[email.message.EmailMessage] = []
        self.lock = threading.Lock()
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.controller = Controller(self, hostname="127.0.0.1", port=self.port)
        self.controller.start()

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's hook name)
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        with self.lock:
            self.messages.append(message)
        return "250 OK"

    def url(self, to: str = "editors@example.org") -> str:
        return f"mailto://127.0.0.1:{self.port}?from=tracker@example.org&to={to}"

    def close(self) -> None:
        self.controller.stop()


@pytest.fixture
def mailbox():
    box = Mailbox()
    yield box
    box.close()


def body_of(message: email.message.EmailMessage) -> str:
    return message.get_body(preferencelist=("plain",)).get_content()


def digest_yaml(mailbox: Mailbox, period: str = "daily", regions: str = "[US-FL/sarasota-county]") -> str:
    return (f"notify:\n  - name: sarasota-digest\n    url: {mailbox.url()}\n    regions: {regions}\n"
            f"    digest: {period}\n")


def test_a_daily_digest_arrives_once_with_a_readable_body(site, tmp_path, mailbox, monkeypatch):
    data = build_event_db(site, tmp_path, digest_yaml(mailbox))
    assert mailbox.messages == []  # the day is not over: no per-change mail to a digest target either
    tomorrow = datetime.now(UTC) + timedelta(days=1)
    monkeypatch.setattr(digest, "_now", lambda: tomorrow)
    assert run_cli("notify", "digest", "--sources", str(data.sources), "--db", str(data.db)) == 0
    assert len(mailbox.messages) == 1
    message = mailbox.messages[0]
    assert message["To"] == "editors@example.org"
    assert "daily digest" in message["Subject"] and "Sarasota County, Florida" in message["Subject"]
    body = body_of(message)
    # what applies in Sarasota County: its own changes and Florida's, not Texas's
    assert "Sarasota County, Florida — kratom leaf: regulated → banned from 2026-07-01" in body
    assert "Florida — 7-OH: no rule → banned from 2025-08-15" in body
    assert "Texas" not in body
    assert "Changed: " in body or "Added: " in body  # what changed, in words
    assert "/feeds/region/US-FL_sarasota-county.atom" in body
    assert "<" not in body and ">" not in body  # hostile page text arrives as text
    assert body.splitlines()[0].startswith("3 changes recorded on ")
    # once per period: again, and after another pass, nothing new
    assert run_cli("notify", "digest", "--sources", str(data.sources), "--db", str(data.db)) == 0
    assert run_cli("collect", "--sources", str(data.sources), "--db", str(data.db), "--quiet") == 0
    assert len(mailbox.messages) == 1


def test_collect_sends_the_digest_once_the_day_is_over(site, tmp_path, mailbox, monkeypatch):
    # cron runs `collect`; its aftermath queues what is due and delivers it, as the daemon's tick does
    data = build_event_db(site, tmp_path, digest_yaml(mailbox))
    monkeypatch.setattr(digest, "_now", lambda: datetime.now(UTC) + timedelta(days=1))
    assert run_cli("collect", "--sources", str(data.sources), "--db", str(data.db), "--quiet") == 0
    assert len(mailbox.messages) == 1 and "daily digest" in mailbox.messages[0]["Subject"]


def test_a_weekly_digest_for_a_set_of_regions(site, tmp_path, mailbox):
    data = build_event_db(site, tmp_path, digest_yaml(mailbox, "weekly", "[US-FL, Texas]"))
    config = load(data.sources)
    next_week = datetime.now(UTC) + timedelta(days=7)
    with Store(data.db) as store:
        assert notify.digests_due(config, store, now=next_week)
        assert notify.queue_digests(config, store, now=next_week) == 1
        assert notify.deliver_pending(config, store).sent == 1
        assert not notify.digests_due(config, store, now=next_week)
    body = body_of(mailbox.messages[0])
    assert "weekly digest" in mailbox.messages[0]["Subject"]
    assert "Texas — kratom leaf: legal → regulated from 2026-07-01" in body
    assert "Florida — 7-OH" in body and "Sarasota County, Florida" in body
    assert "in Florida, Texas" in body.splitlines()[0]


def test_periods_are_utc_days_and_iso_weeks():
    moment = datetime(2026, 7, 1, 15, 30, tzinfo=UTC)  # a Wednesday
    day = digest.period_containing("daily", moment)
    week = digest.period_containing("weekly", moment)
    assert (day.start, day.end, day.number) == (datetime(2026, 7, 1, tzinfo=UTC), datetime(2026, 7, 2, tzinfo=UTC),
                                                20260701)
    assert week.start == datetime(2026, 6, 29, tzinfo=UTC) and week.number == 202627
    assert week.label == "week 27 of 2026 (29 June – 5 July)"
    due = digest.periods_due("daily", moment, since=datetime(2026, 6, 20, tzinfo=UTC))
    assert len(due) == digest.MAX_PERIODS and due[-1].number == 20260630  # today is not over


def test_notify_test_sends_a_message_to_a_named_target(tmp_path, mailbox, capsys):
    sources = write_sources(tmp_path, digest_yaml(mailbox) + "sources: []\n")
    assert run_cli("notify", "list", "--sources", str(sources)) == 0
    listed = capsys.readouterr().out
    assert "sarasota-digest: daily digest; US-FL/sarasota-county" in listed and "127.0.0.1" not in listed
    assert run_cli("notify", "test", "sarasota-digest", "--sources", str(sources)) == 0
    assert "test message sent to sarasota-digest" in capsys.readouterr().out
    assert len(mailbox.messages) == 1 and "test message" in mailbox.messages[0]["Subject"]
    assert "daily digest for US-FL/sarasota-county" in body_of(mailbox.messages[0])
    assert run_cli("notify", "test", "nobody", "--sources", str(sources)) == 2
    assert "no notify target named 'nobody'" in capsys.readouterr().err


def test_notify_test_reports_a_failure_without_secrets(tmp_path, capsys):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # nothing listens there once closed
    url = f"mailto://someone:s3cret-pass@127.0.0.1:{port}?to=a@example.org&from=b@example.org"
    sources = write_sources(tmp_path, f"notify:\n  - name: broken\n    url: {url}\nsources: []\n")
    assert run_cli("notify", "test", "broken", "--sources", str(sources)) == 1
    out = capsys.readouterr()
    assert "failed" in out.out and "s3cret-pass" not in out.out + out.err


@pytest.mark.parametrize(("yaml", "reason"), [
    ("notify:\n  - url: json://127.0.0.1/x\n    digest: hourly\n", "unknown digest 'hourly'"),
    ("notify:\n  - url: json://127.0.0.1/x\n    regions: [Springfield]\n", "ambiguous region 'Springfield'"),
    ("publish:\n  regions: [Narnia]\n", "unknown region 'Narnia'"),
    ("publish:\n  regions: US-FL\n", "expected a list of regions"),
])
def test_bad_digest_or_region_settings_are_refused(tmp_path, yaml, reason):
    with pytest.raises(ConfigError) as caught:
        load(write_sources(tmp_path, yaml + "sources: []\n"))
    assert reason in str(caught.value)


def test_region_settings_take_names_and_store_codes(tmp_path):
    config = load(write_sources(tmp_path, "publish:\n  regions: [Florida, 'Tampa, Florida']\nnotify:\n"
                                          "  - url: json://127.0.0.1/x\n    regions: ['Sarasota County, FL']\n"
                                          "sources: []\n"))
    assert config.publish.regions == ("US-FL", "US-FL/tampa")
    assert config.notify[0].regions == ("US-FL/sarasota-county",)
