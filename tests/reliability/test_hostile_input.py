"""Focus, repo, scenario, thread and branch strings with shell metacharacters, path traversal, huge or
non-UTF-8 text, through every face: CLI arguments (real subprocesses), a Slack command and a GitHub
comment (real uvicorn), the code host's branch names. Each one is refused with a one-line error or
taken as plain text; none reaches a shell (the ``touch`` each one carries never runs)."""

from __future__ import annotations

import re
import subprocess
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fixloop.errors import FixloopError
from fixloop.integrations.codehost.local import LocalCodeHost
from fixloop.scenarios import prepare_workspace
from tests.conftest import CliRunner
from tests.reliability.conftest import Tally, full_sweep
from tests.reliability.test_webhook_fuzz import Target, target  # noqa: F401  (the live server fixture)
from tests.server.helpers import comment_payload, github_headers, slack_headers, wait_until

PLAIN = re.compile(r"^[A-Za-z0-9._-]+$")


def hostile(tmp: Path) -> list[str]:
    """Strings that would create a ``pwned-*`` file in ``tmp`` if any reached a shell."""
    marker = tmp / "pwned"
    return [
        f"websockets; touch {marker}-semi",
        f"$(touch {marker}-subst)",
        f"`touch {marker}-tick`",
        f"x && touch {marker}-and",
        f"x | tee {marker}-pipe",
        f"x > {marker}-redirect",
        "../../../../etc/passwd",
        "/etc/passwd",
        "..",
        "a" * 5000,
        "non-utf8-\udcff\udcfe",  # raw bytes 0xff 0xfe on the command line
        "new\nline",
        "-rf",
        "--help",
    ]


def pwned(tmp: Path) -> list[str]:
    return sorted(p.name for p in tmp.glob("pwned*"))


# ---------------------------------------------------------------- the CLI


def cli_cases(tmp: Path, repo: Path) -> list[list[str]]:
    cases: list[list[str]] = []
    for text in hostile(tmp):
        cases += [
            ["select", "--repo", str(repo), "--focus", text, "--json"],
            ["select", "--repo", text, "--focus", "websockets"],
            ["demo", "--scenario", text, "--out", str(tmp / "out" / uuid.uuid4().hex)],
            ["status", text],
            ["approve", text, "--by", text],
        ]
    return cases


@pytest.mark.slow
def test_cli_arguments_never_reach_a_shell_and_errors_are_one_line(
    run_cli: CliRunner, tmp_path: Path, tally: Tally
) -> None:
    repo = prepare_workspace(tmp_path / "repo", None)
    cases = cli_cases(tmp_path, repo)
    if not full_sweep():
        cases = cases[::14]  # 5 of them in the normal run, all 70 in the full sweep
    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda argv: (argv, run_cli(*argv, timeout=300)), cases))
    for argv, proc in results:
        tally["cli"] += 1
        output = proc.stdout + proc.stderr
        assert "Traceback" not in output, (argv[:2], output[-2000:])
        if proc.returncode == 0:
            tally["taken-as-text"] += 1
            continue
        tally["refused"] += 1
        errors = [line for line in proc.stderr.splitlines() if line.strip()]
        assert 1 <= len(errors) <= 12, (argv[:2], proc.stderr[-2000:])  # usage text at most, never a dump
    assert pwned(tmp_path) == []
    tally["reached-a-shell"] = len(pwned(tmp_path))


# ---------------------------------------------------------------- Slack and GitHub


texts = st.one_of(
    st.sampled_from(["websockets; rm -rf ~", "$(id)", "`id`", "../../etc/passwd", "a|b", "x\u0000y", "ws\r\nX: 1"]),
    st.text(max_size=400),
    st.text(alphabet=st.characters(codec="utf-8"), min_size=300, max_size=2000),
)
FUZZ = settings(
    max_examples=300 if full_sweep() else 25,
    deadline=None,
    derandomize=not full_sweep(),
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def test_slack_and_github_text_is_refused_or_taken_as_a_plain_word(
    target: Target,  # noqa: F811
    tally: Tally,
) -> None:
    @FUZZ
    @given(text=texts, raw_bytes=st.booleans())
    def slack(text: str, raw_bytes: bool) -> None:
        encoded = quote(text.encode("utf-8", "surrogatepass")) + ("%FF%FE" if raw_bytes else "")
        body = f"command=%2Ffixloop&text={encoded}&user_id=UCAROL&channel_id=CFIX&response_url="
        response = target.post("/slack/commands", body, slack_headers(body))
        tally["slack"] += 1
        assert response.status_code == 200, response.text[:300]
        answer = response.json()
        if answer["response_type"] == "ephemeral":
            assert answer["text"].startswith(":warning:"), answer["text"][:300]
            tally["refused"] += 1

    @FUZZ
    @given(text=texts)
    def github(text: str) -> None:
        body = comment_payload(f"/fixloop {text}", number=7)
        headers = github_headers(body, event="issue_comment", delivery=str(uuid.uuid4()))
        response = target.post("/github/webhook", body, headers)
        tally["github"] += 1
        assert response.status_code in (200, 202), response.text[:300]
        if response.json()["result"] == "invalid":
            tally["refused"] += 1

    slack()
    github()
    started = target.runner.started()
    assert all(PLAIN.match(str(run["focus"])) for run in started), [run["focus"] for run in started]
    tally["started-with-plain-focus"] = len(started)
    assert tally["refused"] > 0
    assert target.failed_jobs() == 0
    wait_until(lambda: target.app.state.workers.stats()["chat_pending"] == 0, what="chat replies to be sent")
    health = target.client.get("/healthz")
    assert health.status_code == 200


# ---------------------------------------------------------------- branch names at the code host


@pytest.fixture(scope="module")
def host(tmp_path_factory: pytest.TempPathFactory) -> LocalCodeHost:
    base = tmp_path_factory.mktemp("codehost")
    repo = prepare_workspace(base / "repo", None)
    return LocalCodeHost(repo, base / "remote.git")


@settings(max_examples=200 if full_sweep() else 40, deadline=None, derandomize=not full_sweep())
@given(
    branch=st.one_of(
        st.sampled_from(["main; touch pwned", "$(touch pwned)", "../../x", "-f", "a b", "a..b", "x" * 300, "ref~1"]),
        st.text(min_size=1, max_size=60),
    )
)
def test_hostile_branch_names_are_refused_by_the_code_host(host: LocalCodeHost, branch: str) -> None:
    if PLAIN.match(branch) and ".." not in branch and not branch.startswith("-"):
        return  # a plain name is a legal branch (it simply does not exist here)
    with pytest.raises(FixloopError) as caught:
        host.open_or_update_pr(branch=branch, base="main", title="t", body="b", category_id="c")
    assert "\n" not in caught.value.one_line()
    assert not list(host.repo.glob("pwned*")) and not (Path.cwd() / "pwned").exists()
    done = subprocess.run(["git", "branch", "--list"], cwd=host.repo, capture_output=True, text=True, check=True)
    assert branch not in done.stdout.split()
