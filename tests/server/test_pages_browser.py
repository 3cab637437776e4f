"""The run pages in a real headless Chromium against a real ``fixloop serve`` app on loopback.

The list page (scripted runner: three runs, filtered by status), then a real demo run with the scripted model
(the bundled example broken by ``handshake-500``, started by a signed Slack command from bob): its page opened
while it runs updates live to "awaiting approval"; bob, its requester, is refused by four-eyes from the page;
alice, an approver, approves from the page and the run merges, deploys, re-tests and turns green.
Screenshots are saved as artifacts (``$FIXLOOP_ARTIFACTS`` or the test's tmp folder).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from fixloop.config import ApprovalSettings, ServerSettings, Settings
from fixloop.integrations.slack.local_slack_server import LocalSlackServer
from fixloop.server.app import create_app
from fixloop.server.options import ServerOptions
from fixloop.server.runner import Runner, RunsRunner
from tests.server.browser import artifacts_dir, browser, screenshot
from tests.server.conftest import all_secrets
from tests.server.helpers import ScriptedRunner, command_body, serving, slack_headers, wait_until
from tests.server.test_e2e_slack_demo import require_real_runs, stopping

TOKENS = {"alice": "alice-page-token-1", "bob": "bob-page-token-2"}
RUN_TIMEOUT = 600.0


def page_settings() -> Settings:
    return Settings(
        approval=ApprovalSettings(approvers=["alice", "bob"], slack_users={"UALICE": "alice", "UBOB": "bob"}),
        server=ServerSettings(page_users={n: hashlib.sha256(t.encode()).hexdigest() for n, t in TOKENS.items()}),
    )


@contextmanager
def page_server(runner: Runner, slack: LocalSlackServer, **options: Any) -> Iterator[str]:
    values: dict[str, Any] = {"slack_api_url": slack.api_url, "poll_interval": 0.3, "bot_user_id": "UFIXLOOP"}
    values.update(options)
    app = create_app(page_settings(), runner=runner, options=ServerOptions(**values), secrets=all_secrets())
    with serving(app) as url:
        yield url


class IndexedRunner(ScriptedRunner):
    """The scripted runner with the index's requester and update time (what ``runs.list_runs`` gives)."""

    def list(self) -> list[dict[str, Any]]:
        return [
            {"thread_id": t, "focus": r["focus"], "status": r["status"], "requested_by": r["requested_by"],
             "updated": f"2026-12-06T08:0{n}:00+00:00"}
            for n, (t, r) in enumerate(self.runs.items())
        ]  # fmt: skip


def sign_in(driver: Any, url: str, name: str, then: str) -> None:
    from selenium.webdriver.common.by import By

    driver.get(f"{url}{then}")
    assert "/signin" in driver.current_url, "an anonymous browser is sent to the sign-in form"
    driver.find_element(By.ID, "token").send_keys(TOKENS[name])
    driver.find_element(By.CSS_SELECTOR, "form[action='/signin'] button").click()
    try:
        wait_until(lambda: driver.current_url.endswith(then), what=f"{name} signed in")
    except AssertionError:
        body = driver.find_element(By.TAG_NAME, "body").text[:800]
        raise AssertionError(f"{name} not signed in: at {driver.current_url}\n{body}") from None
    assert f"signed in as {name}" in driver.find_element(By.TAG_NAME, "header").text


def text_of(driver: Any, element_id: str) -> str:
    from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException
    from selenium.webdriver.common.by import By

    try:
        return str(driver.find_element(By.ID, element_id).text)
    except (NoSuchElementException, StaleElementReferenceException):
        return ""


def test_list_page_filters_runs(slack_server: LocalSlackServer, tmp_path: Path) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    runner = IndexedRunner()
    for n, who in enumerate(("carol", "dave", "carol")):
        runner.start(
            repo=tmp_path, focus="websockets" if n < 2 else "auth", requested_by=who, source="cli", llm="none",
            thread_id=f"t-{n}", scenario=None, out_dir=tmp_path / f"out-{n}", extra={},
        )  # fmt: skip
    runner.runs["t-1"]["status"] = "green"
    folder = artifacts_dir(tmp_path)
    with page_server(runner, slack_server) as url, browser() as driver:
        sign_in(driver, url, "alice", "/runs")
        rows = driver.find_elements(By.CSS_SELECTOR, "#runs tbody tr")
        assert len(rows) == 3 and "3 of 3 runs" in text_of(driver, "count")
        Select(driver.find_element(By.NAME, "status")).select_by_value("awaiting_approval")
        driver.find_element(By.NAME, "requester").send_keys("carol")
        driver.find_element(By.CSS_SELECTOR, "form[aria-label='Filter runs'] button").click()
        wait_until(lambda: "2 of 3 runs" in text_of(driver, "count"), what="the filtered list")
        shown = [a.text for a in driver.find_elements(By.CSS_SELECTOR, "#runs tbody a")]
        assert shown == ["t-2", "t-0"], "newest first"
        screenshot(driver, folder, "runs-list")


@pytest.mark.slow
@pytest.mark.timeout(1200)
def test_demo_run_page_live_refusal_and_approval(
    slack_server: LocalSlackServer, isolated_fixloop_home: Path, tmp_path: Path
) -> None:
    from selenium.webdriver.common.by import By

    require_real_runs()
    runner = RunsRunner()
    folder = artifacts_dir(tmp_path)
    with (
        page_server(runner, slack_server, default_repo="demo") as url,
        stopping(isolated_fixloop_home),
        browser() as driver,
    ):
        body = command_body("websockets demo --llm scripted --scenario handshake-500", user="UBOB")
        answer = httpx.post(f"{url}/slack/commands", content=body, headers=slack_headers(body), timeout=10)
        thread_id = str(answer.json()["text"].split("`")[1])

        def running() -> bool:
            try:
                return runner.status(thread_id).get("status") == "running"
            except Exception:
                return False

        wait_until(running, timeout=120, what="the run to start")
        sign_in(driver, url, "bob", f"/runs/{thread_id}")
        driver.execute_script("window.fixloopMarker = 'same page';")
        assert text_of(driver, "status") == "running"
        # a live update: the page, never reloaded, shows the wait for approval and its content
        wait_until(
            lambda: text_of(driver, "status") == "awaiting_approval", timeout=RUN_TIMEOUT, what="live status update"
        )
        assert driver.execute_script("return window.fixloopMarker") == "same page", "the page was reloaded"
        wait_until(lambda: driver.find_elements(By.ID, "approve"), what="the approve button")
        assert driver.find_elements(By.CSS_SELECTOR, "#live-log li"), "no progress line arrived over SSE"
        phases = text_of(driver, "phases")
        assert "iter-1" in phases and "failed" in phases and "test_websocket_connection" in phases
        steps = driver.find_elements(By.CSS_SELECTOR, "ol.whys > li.step")
        assert len(steps) >= 5
        assert "[E" in steps[0].find_element(By.CSS_SELECTOR, ".evidence").text
        assert driver.find_elements(By.CSS_SELECTOR, "pre.diff span.add")
        assert driver.find_elements(By.CSS_SELECTOR, "pre.diff span.del")
        screenshot(driver, folder, "run-awaiting-approval")

        # the requester is refused (four-eyes), recorded on the run and shown on the page
        driver.find_element(By.ID, "approve").click()
        wait_until(lambda: "four-eyes" in text_of(driver, "approvals"), timeout=120, what="bob's refusal")
        assert "refused" in text_of(driver, "approvals") and "page" in text_of(driver, "approvals")
        assert runner.status(thread_id)["status"] == "awaiting_approval"
        driver.find_element(By.ID, "h-approvals").location_once_scrolled_into_view  # noqa: B018 (scrolls)
        screenshot(driver, folder, "run-refused-for-requester")

        # an approver approves from the page: merge, deploy, re-test, green
        driver.find_element(By.CSS_SELECTOR, "form[action='/signout'] button").click()
        wait_until(lambda: "not signed in" in text_of(driver, "who"), what="bob signed out")
        sign_in(driver, url, "alice", f"/runs/{thread_id}")
        wait_until(lambda: driver.find_elements(By.ID, "approve"), what="the approve button for alice")
        driver.find_element(By.ID, "approve").click()
        wait_until(lambda: text_of(driver, "status") == "green", timeout=RUN_TIMEOUT, what="the run to turn green")
        wait_until(lambda: "revision" in text_of(driver, "deploys"), what="the deploy on the page")
        wait_until(lambda: "approve by alice done: the run is green" in text_of(driver, "actions"), what="the answer")
        driver.execute_script("window.scrollTo(0, 0);")
        screenshot(driver, folder, "run-green")
        run = runner.status(thread_id)
        decisions = [(a["by"], a["decision"], a["source"]) for a in run["approvals"]]
        assert ("bob", "refused", "page") in decisions
        assert decisions[-1] == ("alice", "approve", "page")
        assert all(pr["state"] == "merged" for pr in run["prs"])
