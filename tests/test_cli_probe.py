"""`fixloop probe ws|http --repo PATH` uses the target's recorded URL and secret (issue 15, reproduction 5).

The secret of a `fixloop target up` target lives only in its 0600 state file; `probe` had no `--repo`, so it
could not authenticate against it.
"""

from __future__ import annotations

import json
from pathlib import Path

from fixloop.scenarios import prepare_workspace
from fixloop.target import start_target, stop_target, test_env
from tests.conftest import CliRunner


def test_probe_ws_and_http_find_the_recorded_target_and_its_secret(tmp_path: Path, run_cli: CliRunner) -> None:
    repo = prepare_workspace(tmp_path / "chatbackend", None)
    info = start_target(repo)
    secret = test_env(repo)["CHAT_JWT_SECRET"]
    try:
        ws = run_cli("probe", "ws", "--repo", str(repo), "--json", env={"CHAT_JWT_SECRET": ""})
        assert ws.returncode == 0, ws.stdout[-2000:] + ws.stderr[-2000:]
        report = json.loads(ws.stdout)
        assert report["ok"] and str(info.port) in report["url"], report
        assert secret not in ws.stdout + ws.stderr

        http = run_cli("probe", "http", "--repo", str(repo), "--json")
        assert http.returncode == 0, http.stdout[-2000:]
        assert info.revision[:12] in http.stdout

        # the control: the same probe without the recorded secret is refused by the target
        bare = run_cli("probe", "ws", info.ws_url, "--json", env={"CHAT_JWT_SECRET": ""})
        assert bare.returncode == 1 and not json.loads(bare.stdout)["ok"]
    finally:
        stop_target(repo)


def test_probe_without_a_url_or_a_repo_is_a_one_line_error(run_cli: CliRunner) -> None:
    done = run_cli("probe", "ws")
    assert done.returncode == 2 and "nothing to probe" in done.stderr and "Traceback" not in done.stderr
