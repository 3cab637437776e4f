"""The page routes over real HTTP (uvicorn on loopback, scripted runner): who may read, who may act, and how."""

from __future__ import annotations

import re
from pathlib import Path

import httpx

from fixloop.integrations.slack.local_slack_server import LocalSlackServer
from fixloop.server.runner import Runner
from tests.server.helpers import API_TOKEN, ScriptedRunner, wait_until
from tests.server.test_pages_browser import TOKENS, page_server

HTML = {"Accept": "text/html"}


def scripted(tmp_path: Path, requested_by: str = "bob") -> ScriptedRunner:
    runner = ScriptedRunner()
    runner.start(
        repo=tmp_path, focus="websockets", requested_by=requested_by, source="cli", llm="none",
        thread_id="t-1", scenario=None, out_dir=tmp_path / "out", extra={},
    )  # fmt: skip
    return runner


def signed_in(url: str, name: str) -> httpx.Client:
    client = httpx.Client(base_url=url, headers=HTML)
    answer = client.post("/signin", data={"token": TOKENS[name], "next": "/runs/t-1"})
    assert answer.status_code == 303 and answer.headers["location"] == "/runs/t-1"
    return client


def csrf(client: httpx.Client) -> str:
    match = re.search(r'name="csrf" value="([^"]+)"', client.get("/runs/t-1").text)
    assert match, "no form on the page"
    return match.group(1)


def test_reading_needs_a_sign_in_and_the_api_keeps_answering_json(
    slack_server: LocalSlackServer, tmp_path: Path
) -> None:
    with page_server(scripted(tmp_path), slack_server) as url:
        anonymous = httpx.get(f"{url}/runs/t-1", headers=HTML)
        assert anonymous.status_code == 303 and anonymous.headers["location"].startswith("/signin?next=")
        api = httpx.get(f"{url}/runs/t-1", headers={"Authorization": f"Bearer {API_TOKEN}"})
        assert api.headers["content-type"].startswith("application/json") and api.json()["thread_id"] == "t-1"
        page = httpx.get(f"{url}/runs/t-1", headers={**HTML, "Authorization": f"Bearer {API_TOKEN}"})
        assert page.status_code == 200 and "the JWT audience check rejects every token" in page.text
        assert 'name="csrf"' not in page.text, "the API token reads only"
        wrong = httpx.Client(base_url=url, headers=HTML).post("/signin", data={"token": "nope"})
        assert wrong.status_code == 401 and "signs nobody in" in wrong.text
        bad = httpx.get(f"{url}/runs/bad%24id", headers={**HTML, "Authorization": f"Bearer {API_TOKEN}"})
        assert bad.status_code == 400 and "not allowed" in bad.text


def test_no_open_redirect_from_sign_in(slack_server: LocalSlackServer, tmp_path: Path) -> None:
    with page_server(scripted(tmp_path), slack_server) as url:
        answer = httpx.post(f"{url}/signin", data={"token": TOKENS["alice"], "next": "//evil.example/x"})
        assert answer.headers["location"] == "/runs"


def test_an_action_needs_the_csrf_token_of_a_signed_in_user(slack_server: LocalSlackServer, tmp_path: Path) -> None:
    runner = scripted(tmp_path)
    with page_server(runner, slack_server) as url:
        alice = signed_in(url, "alice")
        forged = alice.post("/runs/t-1/approve", data={"csrf": "forged"})
        assert forged.status_code == 403 and "CSRF" in forged.text
        bearer = httpx.post(
            f"{url}/runs/t-1/approve", headers={"Authorization": f"Bearer {API_TOKEN}"}, data={"csrf": "x"}
        )
        assert bearer.status_code == 403
        assert not [c for c in runner.calls if c[0] == "approve"], "nothing reached the runner"


def test_the_requester_is_refused_and_an_approver_approves(slack_server: LocalSlackServer, tmp_path: Path) -> None:
    runner = scripted(tmp_path)
    with page_server(runner, slack_server) as url:
        bob = signed_in(url, "bob")
        assert bob.post("/runs/t-1/approve", data={"csrf": csrf(bob)}).status_code == 303
        wait_until(lambda: "four-eyes" in bob.get("/runs/t-1").text, what="bob's refusal on the page")
        assert runner.runs["t-1"]["status"] == "awaiting_approval"
        alice = signed_in(url, "alice")
        heads = re.search(r'name="heads" value="([^"]*)"', alice.get("/runs/t-1").text)
        assert heads and heads.group(1)
        assert alice.post("/runs/t-1/approve", data={"csrf": csrf(alice), "heads": heads.group(1)}).status_code == 303
        wait_until(lambda: runner.runs["t-1"]["status"] == "green", what="the approval")
        assert ("approve", {"thread_id": "t-1", "by": "alice", "source": "page"}) in runner.calls
        assert "approve by alice done: the run is green" in alice.get("/runs/t-1").text


def test_reject_needs_a_reason_and_stop_lowers_the_run(slack_server: LocalSlackServer, tmp_path: Path) -> None:
    runner: Runner = scripted(tmp_path)
    with page_server(runner, slack_server) as url:
        alice = signed_in(url, "alice")
        token = csrf(alice)
        empty = alice.post("/runs/t-1/reject", data={"csrf": token, "reason": " "})
        assert empty.status_code == 400 and "needs a reason" in empty.text
        assert alice.post("/runs/t-1/stop", data={"csrf": token}).status_code == 303
        assert "level lowered" in alice.get("/runs/t-1").text


def test_the_page_shows_the_verify_verdict_and_serves_the_record(
    slack_server: LocalSlackServer, tmp_path: Path
) -> None:
    from fixloop.verdict import write_verdict

    runner = scripted(tmp_path)
    out = tmp_path / "out"
    out.mkdir()
    (out / "worklog.md").write_text("# Worklog of t-1\n")
    runner.runs["t-1"]["out_dir"] = str(out)
    write_verdict(out, ok=False, checked=[], problems=["artifact artifacts/iter-1-junit.xml was modified"])
    with page_server(runner, slack_server) as url:
        alice = signed_in(url, "alice")
        page = alice.get("/runs/t-1").text
        assert "1 problem(s)" in page and "BAD artifact artifacts/iter-1-junit.xml was modified" in page
        worklog = alice.get("/runs/t-1/worklog.md")
        assert worklog.text == "# Worklog of t-1\n" and "attachment" in worklog.headers["content-disposition"]
        record = alice.get("/runs/t-1/run.json")
        assert record.headers["content-type"].startswith("application/json") and record.json()["thread_id"] == "t-1"
        assert httpx.get(f"{url}/runs/t-1/worklog.md", headers=HTML).status_code == 303, "downloads need a sign-in"


def test_with_no_way_in_the_pages_are_disabled(tmp_path: Path) -> None:
    from fixloop.config import Settings
    from fixloop.server.app import create_app
    from fixloop.server.options import ServerOptions
    from fixloop.server.secrets import SecretNames, ServerSecrets
    from tests.server.helpers import serving

    app = create_app(
        Settings(), runner=scripted(tmp_path), options=ServerOptions(), secrets=ServerSecrets(SecretNames())
    )
    with serving(app) as url:
        answer = httpx.get(f"{url}/runs/t-1", headers=HTML)
        assert answer.status_code == 403 and "Run pages are disabled" in answer.text
        assert httpx.post(f"{url}/runs/t-1/approve", data={"csrf": "x"}).status_code == 403
