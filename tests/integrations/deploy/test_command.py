"""The command deployer: a real argv run, output captured, then a real health wait on loopback."""

from __future__ import annotations

import json
import socket
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from fixloop.config import DeploySettings, Settings, TargetSettings
from fixloop.errors import ConfigError
from fixloop.integrations.deploy import build_deployer
from fixloop.integrations.deploy.command import CommandDeployer
from fixloop.integrations.deploy.health import same_revision
from fixloop.interfaces import Deployer


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


REV = "0123456789abcdef0123456789abcdef01234567"


class HealthServer:
    """A target stand-in whose /health reports the revision written to a file (by the deploy command)."""

    def __init__(self, revision_file: Path, status: str = "ok") -> None:
        revision_file.write_text("old-revision")
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                body = json.dumps({"status": outer.status, "revision": revision_file.read_text().strip()}).encode()
                self.send_response(200 if self.path == "/health" else 404)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                return

        self.status = status
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def health(tmp_path: Path) -> Iterator[tuple[HealthServer, Path]]:
    revision_file = tmp_path / "deployed-revision"
    srv = HealthServer(revision_file)
    yield srv, revision_file
    srv.close()


WRITE_REVISION = (
    "import pathlib, sys; pathlib.Path(sys.argv[1]).write_text(sys.argv[2]); print('deployed', sys.argv[2])"
)


def test_command_deploy_waits_for_the_new_revision(health: tuple[HealthServer, Path], tmp_path: Path) -> None:
    srv, revision_file = health
    deployer = CommandDeployer(
        [sys.executable, "-c", WRITE_REVISION, str(revision_file), "{revision}"],
        health_url=f"{srv.url}/health",
        cwd=tmp_path,
        health_timeout=10,
        poll_interval=0.05,
    )
    record = deployer.deploy(REV)
    assert record.outcome == "healthy", record.output
    assert record.revision == REV and record.healthy_at is not None and record.healthy_at >= record.started
    assert f"deployed {REV}" in record.output  # the command's own output is captured
    assert revision_file.read_text() == REV


def test_target_that_never_reports_the_revision_ends_unhealthy(
    health: tuple[HealthServer, Path], tmp_path: Path
) -> None:
    srv, _ = health
    deployer = CommandDeployer(
        [sys.executable, "-c", "print('pretending to deploy')"],
        health_url=f"{srv.url}/health",
        cwd=tmp_path,
        health_timeout=0.5,
        poll_interval=0.05,
    )
    record = deployer.deploy(REV)
    assert record.outcome == "unhealthy"
    assert record.healthy_at is None
    assert "reports revision 'old-revision', expected '0123456789ab'" in record.output
    assert "pretending to deploy" in record.output


def test_unreachable_target_ends_unhealthy(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{free_port()}/health"  # nothing listens there
    deployer = CommandDeployer(
        [sys.executable, "-c", "pass"], health_url=url, cwd=tmp_path, health_timeout=0.3, poll_interval=0.05
    )
    record = deployer.deploy(REV)
    assert record.outcome == "unhealthy" and "unreachable" in record.output


def test_unhealthy_status_is_not_healthy(tmp_path: Path) -> None:
    revision_file = tmp_path / "rev"
    srv = HealthServer(revision_file, status="degraded")
    try:
        deployer = CommandDeployer(
            [sys.executable, "-c", WRITE_REVISION, str(revision_file), "{revision}"],
            health_url=f"{srv.url}/health",
            cwd=tmp_path,
            health_timeout=0.3,
            poll_interval=0.05,
        )
        record = deployer.deploy(REV)
    finally:
        srv.close()
    assert record.outcome == "unhealthy" and "status 'degraded'" in record.output


def test_failing_command_is_recorded_with_its_output(tmp_path: Path) -> None:
    script = "import sys; print('step 1 ok'); print('permission denied', file=sys.stderr); sys.exit(3)"
    deployer = CommandDeployer([sys.executable, "-c", script], health_url="http://127.0.0.1:9/health", cwd=tmp_path)
    record = deployer.deploy(REV)
    assert record.outcome == "failed"
    assert "step 1 ok" in record.output and "permission denied" in record.output
    assert "exited with code 3" in record.output


def test_command_that_hangs_is_stopped(tmp_path: Path) -> None:
    deployer = CommandDeployer(
        [sys.executable, "-c", "import time; time.sleep(60)"],
        health_url="http://127.0.0.1:9/health",
        cwd=tmp_path,
        command_timeout=0.5,
    )
    record = deployer.deploy(REV)
    assert record.outcome == "failed" and "timed out after 0.5 s" in record.output


def test_shell_metacharacters_are_plain_arguments(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    deployer = CommandDeployer(
        [sys.executable, "-c", "import sys; print(sys.argv[1])", f"; touch {marker}"],
        health_url="http://127.0.0.1:9/health",
        cwd=tmp_path,
        health_timeout=0.1,
    )
    record = deployer.deploy(REV)
    assert f"; touch {marker}" in record.output
    assert not marker.exists()


def test_missing_program_is_a_failed_deploy(tmp_path: Path) -> None:
    deployer = CommandDeployer(["/nonexistent/deploy-tool"], health_url="http://127.0.0.1:9/health", cwd=tmp_path)
    record = deployer.deploy(REV)
    assert record.outcome == "failed" and "cannot run" in record.output


def test_build_deployer_command(health: tuple[HealthServer, Path], tmp_path: Path) -> None:
    srv, revision_file = health
    settings = Settings(
        target=TargetSettings(http_url=srv.url),
        deploy=DeploySettings(
            backend="command",
            command=[sys.executable, "-c", WRITE_REVISION, str(revision_file), "{revision}"],
            health_timeout=10,
            poll_interval=0.05,
        ),
    )
    deployer = build_deployer(settings, tmp_path)
    assert isinstance(deployer, CommandDeployer) and isinstance(deployer, Deployer)
    assert deployer.deploy(REV).outcome == "healthy"
    with pytest.raises(ConfigError, match="non-empty argv"):
        build_deployer(Settings(deploy=DeploySettings(backend="command")), tmp_path)


@pytest.mark.parametrize(
    ("reported", "expected", "same"),
    [
        (REV, REV, True),
        (REV[:7], REV, True),
        (REV, REV[:12], True),
        (REV[:6], REV, False),
        ("", REV, False),
        ("fedcba9", REV, False),
    ],
)
def test_same_revision(reported: str, expected: str, same: bool) -> None:
    assert same_revision(reported, expected) is same
