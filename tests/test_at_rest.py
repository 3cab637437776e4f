"""Secrets never at rest in clear (issue #17, point 5): the files pytest wrote into OUT and the TestRun
record are redacted before fixloop keeps them; the raw output only in a 0600 file outside OUT, on request."""

from __future__ import annotations

import json
import stat
import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from pathlib import Path

from fixloop.at_rest import keep_raw_output, seal_test_run
from fixloop.records import TestResult, TestRun
from fixloop.redaction import Redactor
from fixloop.run_record import record_phase, sha256_file

JWT_SECRET = "cnryJwtSecret0123456789abcdefXYZ"  # the target's token secret (as in its test env)
ENV_TOKEN = "cnryServiceToken9876543210zyxw"  # a secret-named env var of the process
BEARER = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJlLW9mLXRoZS10b2tlbg"
CANARIES = (JWT_SECRET, ENV_TOKEN, BEARER)


def _redactor() -> Redactor:
    return Redactor(env={"CHAT_JWT_SECRET": JWT_SECRET, "CANARY_SERVICE_TOKEN": ENV_TOKEN, "HOME": "/root"})


def _planted_phase(folder: Path) -> TestRun:
    """What a test run leaves when its tests print the secrets: the three files pytest writes, and the record."""
    folder.mkdir(parents=True)
    line = f"secret={JWT_SECRET} token {ENV_TOKEN} Authorization: Bearer {BEARER}"
    (folder / "pytest-output.txt").write_bytes(f"FAILED test_ws.py::test_a - {line}\n".encode() + b"latin-1 \xe9\n")
    (folder / "junit.xml").write_text(
        '<?xml version="1.0" encoding="utf-8"?><testsuites><testsuite name="pytest" tests="1">'
        f'<testcase classname="test_ws" name="test_a"><failure message="{line}">{line}</failure>'
        f"<system-out>{line}</system-out></testcase></testsuite></testsuites>",
        encoding="utf-8",
    )
    (folder / "fixloop-report.jsonl").write_text(json.dumps({"nodeid": "t", "longrepr": line}) + "\n", "utf-8")
    now = datetime.now(UTC)
    result = TestResult(nodeid="test_ws.py::test_a", outcome="failed", longrepr=line, stdout=line, log=line)
    return TestRun(
        command=["pytest"], interpreter="python", cwd=str(folder), started_at=now, finished_at=now, exit_code=1,
        results=[result], collection_errors=[line], stdout_tail=line, junit_xml=str(folder / "junit.xml"),
    )  # fmt: skip


def _hits(text: str) -> list[str]:
    return [c for c in CANARIES if c in text]


def test_a_sealed_run_keeps_no_secret_in_its_files_or_its_record(tmp_path: Path) -> None:
    out = tmp_path / "OUT"
    test_run = _planted_phase(out / "iteration-1")
    assert _hits(test_run.model_dump_json()) == list(CANARIES)  # the reproduction: all three were there
    sealed = seal_test_run(test_run, out / "iteration-1", _redactor())
    assert _hits(sealed.model_dump_json()) == []
    assert sealed.results[0].nodeid == "test_ws.py::test_a" and sealed.results[0].outcome == "failed"
    for path in (out / "iteration-1").iterdir():
        assert _hits(path.read_bytes().decode("utf-8", "replace")) == [], path.name
    assert (out / "iteration-1" / "pytest-output.txt").read_bytes().endswith(b"latin-1 \xe9\n")  # bytes kept
    tree = ET.parse(out / "iteration-1" / "junit.xml")  # still XML, still the same test
    case = tree.getroot().find("testsuite/testcase")
    assert case is not None and case.get("name") == "test_a"
    assert "[REDACTED:" in (out / "iteration-1" / "junit.xml").read_text(encoding="utf-8")


def test_what_is_copied_and_hashed_into_artifacts_is_the_redacted_text(tmp_path: Path) -> None:
    out = tmp_path / "OUT"
    sealed = seal_test_run(_planted_phase(out / "iteration-1"), out / "iteration-1", _redactor())
    phase = record_phase(sealed, out_dir=out, name="iter-1", iteration=1, commit="", health_url=None)
    assert {a.kind for a in phase.artifacts} == {"junit-xml", "pytest-output"}
    for artifact in phase.artifacts:
        kept = out / artifact.path
        assert sha256_file(kept) == artifact.sha256  # what `fixloop verify` re-checks
        assert _hits(kept.read_text(encoding="utf-8", errors="replace")) == []


def test_the_raw_output_is_kept_only_on_request_owner_only_outside_out(tmp_path: Path) -> None:
    out = tmp_path / "OUT"
    folder = out / "iteration-1"
    test_run = _planted_phase(folder)
    raw_dir = tmp_path / "home" / "raw-output" / "thread-1"
    seal_test_run(test_run, folder, _redactor(), raw_dir=raw_dir, label="iteration-1")
    raw = raw_dir / "iteration-1-pytest-output.txt"
    assert JWT_SECRET in raw.read_text(encoding="utf-8", errors="replace")
    assert stat.S_IMODE(raw.stat().st_mode) == 0o600
    assert not raw.is_relative_to(out)
    assert keep_raw_output(tmp_path / "nothing-here", raw_dir, "x") is None
