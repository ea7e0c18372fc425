"""The Redshift password stays out of botocore's debug logs, over a real HTTP connection.

botocore logs each request's serialised body at DEBUG, CreateDataSource's password included.
A local HTTP server stands in for QuickSight's endpoint (it says "not found" to the first
describe and "access denied" to the create), so the real client really sends the password:
the server sees it; the logs must not.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import ClassVar

import pytest
from typer.testing import CliRunner

import fitray.cli.quicksight as cli
from fitray.quicksight.apply import secret_forms
from fitray.quicksight.exceptions import AccessDeniedError
from tests.quicksight.conftest import ACCOUNT, PASSWORD, PRINCIPAL, REGION


class FakeQuickSight(BaseHTTPRequestHandler):
    bodies: ClassVar[list[bytes]] = []

    def do_GET(self) -> None:
        self._error(404, "ResourceNotFoundException")

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", 0))
        FakeQuickSight.bodies.append(self.rfile.read(length))
        self._error(403, "AccessDeniedException")

    def _error(self, status: int, code: str) -> None:
        body = json.dumps({"__type": code, "Message": f"{code} from the test server"}).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("x-amzn-ErrorType", code)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:  # keep test output quiet
        pass


@pytest.fixture
def endpoint() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeQuickSight)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    FakeQuickSight.bodies = []
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


@pytest.mark.usefixtures("redshift_login")
def test_password_is_sent_but_never_logged(
    endpoint: str, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "not-a-secret")
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    caplog.set_level(logging.DEBUG)
    args = ["apply", "--account-id", ACCOUNT, "--region", REGION, "--principal-arn", PRINCIPAL]
    args += ["--redshift-host", "redshift.example.com", "--endpoint-url", endpoint]

    result = CliRunner().invoke(cli.app, args)

    assert isinstance(result.exception, AccessDeniedError), result.output
    assert "CreateDataSource" in str(result.exception)
    sent = json.loads(FakeQuickSight.bodies[0])
    assert sent["Credentials"]["CredentialPair"]["Password"] == PASSWORD
    assert "Making request for OperationModel(name=CreateDataSource)" in caplog.text
    for form in secret_forms(PASSWORD):
        assert form not in caplog.text
        assert form not in result.output
