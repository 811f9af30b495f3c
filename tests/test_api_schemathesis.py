"""Schemathesis against the server's own /openapi.json, in process through its ASGI integration (no
socket, no network). Every documented operation gets schemathesis's coverage cases (boundary values,
methods not served) and a few generated ones, derandomized so every run sends the same requests. Its
default checks: no 5xx, status code, content type, headers and body as described, a 405 with Allow for
a method not served, schema-valid requests accepted and schema-invalid ones refused."""

from __future__ import annotations

from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, settings

from kratom_tracker.config.loader import load
from kratom_tracker.web.app import ServerSettings, create_app
from test_publish import build_event_db

# The description is read when tests are collected, from an app without a database (/openapi.json needs
# none); each case is then sent to `api_app`. Not `schemathesis.pytest.from_fixture`: its lazy loader
# fails on pytest 9.2 (it sets the removed `Function._nodeid`).
# POST /api/check is left out: a generated `url` would be fetched (this suite never touches the network);
# tests/test_articles.py sends it valid and invalid bodies against a local site instead.
schema = schemathesis.openapi.from_asgi(
    "/openapi.json", create_app(ServerSettings(db=Path("not-used.db")))).exclude(path="/api/check")


@pytest.fixture
def api_app(site, tmp_path):
    """The server over a database with real events (US-FL, its locality, US-TX), as in test_server."""
    data = build_event_db(site, tmp_path)
    return create_app(ServerSettings(db=data.db, config=load(data.sources)))


@schema.parametrize()
# The app only reads its database, so sharing one per operation across examples is right (hence the
# suppressed function_scoped_fixture check); database=None leaves no .hypothesis folder behind.
@settings(max_examples=15, derandomize=True, deadline=None, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
def test_api_conforms_to_its_openapi_description(case, api_app):
    case.call_and_validate(app=api_app)
