"""A small local HTTP server speaking the GitHub REST endpoints that fixloop's PyGithub code host
calls, for tests and offline demos (a test double at the network edge only).

It keeps one repository in memory — refs, commits, flat trees, blobs, pull requests, issue
comments, reviews — answers in GitHub's JSON shapes, enforces the token, and records every
request (method, path, query, JSON body) so tests can check the exact requests made.

Endpoints: ``GET /repos/{o}/{r}``; ``GET /git/ref/{ref}``, ``POST /git/refs``,
``PATCH /git/refs/{ref}``; ``GET|POST /git/commits``; ``POST /git/blobs``; ``POST /git/trees``;
``GET|POST /pulls``, ``GET|PATCH /pulls/{n}``, ``PUT /pulls/{n}/merge``,
``GET|POST /pulls/{n}/reviews``; ``GET|POST /issues/{n}/comments``.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import socket
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from fixloop.integrations.loopback import LoopbackHTTPServer

Json = dict[str, Any]


@dataclass
class RecordedRequest:
    method: str
    path: str
    query: dict[str, str]
    body: Any

    def brief(self) -> tuple[str, str]:
        return (self.method, self.path)


class ApiError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def _sha(kind: str, payload: bytes) -> str:
    return hashlib.sha1(kind.encode() + b" " + str(len(payload)).encode() + b"\0" + payload).hexdigest()


@dataclass
class RepoState:
    owner: str
    name: str
    default_branch: str = "main"
    refs: dict[str, str] = field(default_factory=dict)  # "heads/main" -> commit sha
    commits: dict[str, Json] = field(default_factory=dict)  # sha -> {"tree", "parents", "message"}
    trees: dict[str, dict[str, tuple[str, str]]] = field(default_factory=dict)  # sha -> {path: (mode, blob)}
    blobs: dict[str, bytes] = field(default_factory=dict)
    pulls: list[Json] = field(default_factory=list)
    comments: dict[int, list[Json]] = field(default_factory=dict)
    reviews: dict[int, list[Json]] = field(default_factory=dict)
    next_id: int = 1

    def add_blob(self, data: bytes) -> str:
        sha = _sha("blob", data)
        self.blobs[sha] = data
        return sha

    def add_tree(self, entries: dict[str, tuple[str, str]]) -> str:
        sha = _sha("tree", json.dumps(sorted(entries.items())).encode())
        self.trees[sha] = dict(entries)
        return sha

    def add_commit(self, tree: str, parents: list[str], message: str) -> str:
        payload = json.dumps({"tree": tree, "parents": parents, "message": message, "n": len(self.commits)})
        sha = _sha("commit", payload.encode())
        self.commits[sha] = {"tree": tree, "parents": parents, "message": message}
        return sha

    def file_text(self, ref_or_sha: str, path: str) -> str | None:
        """The content of ``path`` at a branch name or commit sha (for tests)."""
        sha = self.refs.get(f"heads/{ref_or_sha}", ref_or_sha)
        entry = self.trees[self.commits[sha]["tree"]].get(path)
        return self.blobs[entry[1]].decode() if entry else None


class LocalGitHubServer:
    """``with LocalGitHubServer("acme", "chat", {"app.py": "..."}, token="t") as gh: gh.base_url``."""

    def __init__(
        self, owner: str, name: str, files: dict[str, str], *, token: str = "test-token", default_branch: str = "main"
    ) -> None:
        self.token = token
        self.repo = RepoState(owner, name, default_branch)
        tree = self.repo.add_tree({p: ("100644", self.repo.add_blob(t.encode())) for p, t in files.items()})
        self.repo.refs[f"heads/{default_branch}"] = self.repo.add_commit(tree, [], "initial commit")
        self.requests: list[RecordedRequest] = []
        self._lock = threading.Lock()
        self._http = LoopbackHTTPServer(_handler_class(self), name="local-github")

    @property
    def base_url(self) -> str:
        return self._http.url

    def start(self) -> LocalGitHubServer:
        self._http.start()
        return self

    def stop(self) -> None:
        self._http.stop()

    def __enter__(self) -> LocalGitHubServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def calls(self) -> list[tuple[str, str]]:
        """(method, path) of every request so far, in order."""
        return [r.brief() for r in self.requests]

    # ------------------------------------------------------------ request handling

    def handle(self, method: str, raw_path: str, body: Any, auth: str) -> tuple[int, Any]:
        parts = urlsplit(raw_path)
        path = unquote(parts.path)
        query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        with self._lock:
            self.requests.append(RecordedRequest(method, path, query, body))
            if auth not in (f"token {self.token}", f"Bearer {self.token}"):
                return 401, {"message": "Bad credentials"}
            try:
                return self._route(method, path, query, body or {})
            except ApiError as exc:
                return exc.status, {"message": exc.message}

    def _route(self, method: str, path: str, query: dict[str, str], body: Json) -> tuple[int, Any]:
        prefix = f"/repos/{self.repo.owner}/{self.repo.name}"
        if path == prefix and method == "GET":
            return 200, self._repo_json()
        if not path.startswith(prefix + "/"):
            raise ApiError(404, "Not Found")
        rest = path[len(prefix) + 1 :]
        routes: list[tuple[str, str, Any]] = [
            ("GET", r"git/ref/(.+)", self._get_ref),
            ("POST", r"git/refs", self._create_ref),
            ("PATCH", r"git/refs/(.+)", self._update_ref),
            ("GET", r"git/commits/([0-9a-f]+)", lambda sha: (200, self._commit_json(sha))),
            ("POST", r"git/commits", self._create_commit),
            ("POST", r"git/blobs", self._create_blob),
            ("POST", r"git/trees", self._create_tree),
            ("GET", r"pulls", lambda: (200, self._list_pulls(query))),
            ("POST", r"pulls", self._create_pull),
            ("GET", r"pulls/(\d+)", lambda n: (200, self._pull_json(self._pull(n)))),
            ("PATCH", r"pulls/(\d+)", self._edit_pull),
            ("PUT", r"pulls/(\d+)/merge", self._merge_pull),
            ("GET", r"pulls/(\d+)/reviews", lambda n: (200, self.repo.reviews.get(self._pull(n)["number"], []))),
            ("POST", r"pulls/(\d+)/reviews", self._create_review),
            ("GET", r"issues/(\d+)/comments", lambda n: (200, self.repo.comments.get(self._pull(n)["number"], []))),
            ("POST", r"issues/(\d+)/comments", self._create_comment),
        ]
        for verb, pattern, handler in routes:
            match = re.fullmatch(pattern, rest)
            if verb == method and match:
                args = match.groups()
                return handler(*args, body) if verb in ("POST", "PATCH", "PUT") else handler(*args)
        raise ApiError(404, "Not Found")

    def _url(self, tail: str = "") -> str:
        return f"{self.base_url}/repos/{self.repo.owner}/{self.repo.name}{tail}"

    def _new_id(self) -> int:
        self.repo.next_id += 1
        return self.repo.next_id

    # ------------------------------------------------------------ repository and git data

    def _repo_json(self) -> Json:
        r = self.repo
        return {
            "id": 1,
            "name": r.name,
            "full_name": f"{r.owner}/{r.name}",
            "owner": {"login": r.owner},
            "default_branch": r.default_branch,
            "url": self._url(),
            "html_url": f"https://github.local/{r.owner}/{r.name}",
            "private": True,
        }

    def _ref_json(self, ref: str) -> Json:
        sha = self.repo.refs[ref]
        return {
            "ref": f"refs/{ref}",
            "url": self._url(f"/git/refs/{ref}"),
            "object": {"sha": sha, "type": "commit", "url": self._url(f"/git/commits/{sha}")},
        }

    def _get_ref(self, ref: str) -> tuple[int, Json]:
        if ref not in self.repo.refs:
            raise ApiError(404, "Not Found")
        return 200, self._ref_json(ref)

    def _create_ref(self, body: Json) -> tuple[int, Json]:
        ref = str(body.get("ref", "")).removeprefix("refs/")
        if not ref.startswith("heads/") or body.get("sha") not in self.repo.commits:
            raise ApiError(422, "Reference update failed")
        if ref in self.repo.refs:
            raise ApiError(422, "Reference already exists")
        self.repo.refs[ref] = body["sha"]
        return 201, self._ref_json(ref)

    def _update_ref(self, ref: str, body: Json) -> tuple[int, Json]:
        sha = body.get("sha")
        if ref not in self.repo.refs:
            raise ApiError(422, "Reference does not exist")
        if sha not in self.repo.commits:
            raise ApiError(422, "Object does not exist")
        if not body.get("force") and not self._is_ancestor(self.repo.refs[ref], sha):
            raise ApiError(422, "Update is not a fast forward")
        self.repo.refs[ref] = sha
        return 200, self._ref_json(ref)

    def _is_ancestor(self, ancestor: str, sha: str) -> bool:
        todo = [sha]
        while todo:
            current = todo.pop()
            if current == ancestor:
                return True
            todo.extend(self.repo.commits[current]["parents"])
        return False

    def _commit_json(self, sha: str) -> Json:
        commit = self.repo.commits.get(sha)
        if commit is None:
            raise ApiError(404, "Not Found")
        return {
            "sha": sha,
            "url": self._url(f"/git/commits/{sha}"),
            "message": commit["message"],
            "tree": {"sha": commit["tree"], "url": self._url(f"/git/trees/{commit['tree']}")},
            "parents": [{"sha": p, "url": self._url(f"/git/commits/{p}")} for p in commit["parents"]],
            "author": {"name": "fixloop", "email": "fixloop@localhost", "date": "2026-01-01T00:00:00Z"},
            "committer": {"name": "fixloop", "email": "fixloop@localhost", "date": "2026-01-01T00:00:00Z"},
        }

    def _create_blob(self, body: Json) -> tuple[int, Json]:
        content = str(body.get("content", ""))
        data = base64.b64decode(content) if body.get("encoding") == "base64" else content.encode()
        sha = self.repo.add_blob(data)
        return 201, {"sha": sha, "url": self._url(f"/git/blobs/{sha}")}

    def _create_tree(self, body: Json) -> tuple[int, Json]:
        base = body.get("base_tree")
        if base is not None and base not in self.repo.trees:
            raise ApiError(422, "base_tree is not a valid tree")
        entries = dict(self.repo.trees[base]) if base else {}
        for item in body.get("tree", []):
            path = item["path"]
            if "sha" in item and item["sha"] is None:
                entries.pop(path, None)
            elif "content" in item:
                entries[path] = (item.get("mode", "100644"), self.repo.add_blob(item["content"].encode()))
            elif item.get("sha") in self.repo.blobs:
                entries[path] = (item.get("mode", "100644"), item["sha"])
            else:
                raise ApiError(422, f"tree.sha {item.get('sha')} is not a valid blob")
        sha = self.repo.add_tree(entries)
        listing = [{"path": p, "mode": m, "type": "blob", "sha": s} for p, (m, s) in sorted(entries.items())]
        return 201, {"sha": sha, "url": self._url(f"/git/trees/{sha}"), "tree": listing, "truncated": False}

    def _create_commit(self, body: Json) -> tuple[int, Json]:
        tree, parents = body.get("tree"), list(body.get("parents", []))
        if tree not in self.repo.trees or any(p not in self.repo.commits for p in parents):
            raise ApiError(422, "Tree or parent SHA does not exist")
        sha = self.repo.add_commit(tree, parents, str(body.get("message", "")))
        return 201, self._commit_json(sha)

    # ------------------------------------------------------------ pull requests

    def _pull(self, number: str | int) -> Json:
        for pr in self.repo.pulls:
            if pr["number"] == int(number):
                return pr
        raise ApiError(404, "Not Found")

    def _pull_json(self, pr: Json) -> Json:
        r = self.repo
        n = pr["number"]
        head_sha = r.refs.get(f"heads/{pr['head']}", pr.get("head_sha", ""))
        part = lambda ref, sha: {"ref": ref, "sha": sha, "label": f"{r.owner}:{ref}"}  # noqa: E731
        return {
            "id": 1000 + n,
            "number": n,
            "state": pr["state"],
            "title": pr["title"],
            "body": pr["body"],
            "url": self._url(f"/pulls/{n}"),
            "html_url": f"https://github.local/{r.owner}/{r.name}/pull/{n}",
            "issue_url": self._url(f"/issues/{n}"),
            "user": {"login": "fixloop-bot"},
            "head": part(pr["head"], head_sha),
            "base": part(pr["base"], r.refs.get(f"heads/{pr['base']}", "")),
            "merged": pr["merged"],
            "mergeable": pr["state"] == "open",
            "merge_commit_sha": pr.get("merge_sha"),
        }

    def _list_pulls(self, query: dict[str, str]) -> list[Json]:
        state = query.get("state", "open")
        found = []
        for pr in self.repo.pulls:
            if state != "all" and pr["state"] != state:
                continue
            if "head" in query and query["head"] != f"{self.repo.owner}:{pr['head']}":
                continue
            if "base" in query and query["base"] != pr["base"]:
                continue
            found.append(self._pull_json(pr))
        return found

    def _create_pull(self, body: Json) -> tuple[int, Json]:
        head, base = str(body.get("head", "")), str(body.get("base", ""))
        if f"heads/{head}" not in self.repo.refs or f"heads/{base}" not in self.repo.refs:
            raise ApiError(422, "Validation Failed: head or base branch does not exist")
        if any(p["head"] == head and p["base"] == base and p["state"] == "open" for p in self.repo.pulls):
            raise ApiError(422, f"A pull request already exists for {self.repo.owner}:{head}.")
        pr = {
            "number": len(self.repo.pulls) + 1,
            "title": body.get("title", ""),
            "body": body.get("body", ""),
            "head": head,
            "base": base,
            "state": "open",
            "merged": False,
        }
        self.repo.pulls.append(pr)
        return 201, self._pull_json(pr)

    def _edit_pull(self, number: str, body: Json) -> tuple[int, Json]:
        pr = self._pull(number)
        for key in ("title", "body", "state"):
            if key in body:
                pr[key] = body[key]
        return 200, self._pull_json(pr)

    def _merge_pull(self, number: str, body: Json) -> tuple[int, Json]:
        pr = self._pull(number)
        if pr["state"] != "open":
            raise ApiError(405, "Pull Request is not mergeable")
        head_sha = self.repo.refs[f"heads/{pr['head']}"]
        if body.get("sha") and body["sha"] != head_sha:
            raise ApiError(409, "Head branch was modified. Review and try the merge again.")
        base_sha = self.repo.refs[f"heads/{pr['base']}"]
        if not self._is_ancestor(base_sha, head_sha):
            raise ApiError(405, "Pull Request is not mergeable: the base branch moved")
        title = body.get("commit_title") or f"Merge pull request #{pr['number']} from {pr['head']}"
        message = f"{title}\n\n{body.get('commit_message', '')}".strip()
        merge_sha = self.repo.add_commit(self.repo.commits[head_sha]["tree"], [base_sha, head_sha], message)
        self.repo.refs[f"heads/{pr['base']}"] = merge_sha
        pr.update(state="closed", merged=True, merge_sha=merge_sha, head_sha=head_sha)
        return 200, {"sha": merge_sha, "merged": True, "message": "Pull Request successfully merged"}

    def _create_comment(self, number: str, body: Json) -> tuple[int, Json]:
        pr = self._pull(number)
        comment = {
            "id": self._new_id(),
            "body": body.get("body", ""),
            "user": {"login": "fixloop-bot"},
            "url": self._url(f"/issues/comments/{self.repo.next_id}"),
        }
        self.repo.comments.setdefault(pr["number"], []).append(comment)
        return 201, comment

    def _create_review(self, number: str, body: Json) -> tuple[int, Json]:
        pr = self._pull(number)
        event = body.get("event", "COMMENT")
        if event not in ("APPROVE", "REQUEST_CHANGES", "COMMENT"):
            raise ApiError(422, f"Unprocessable event {event}")
        state = {"APPROVE": "APPROVED", "REQUEST_CHANGES": "CHANGES_REQUESTED", "COMMENT": "COMMENTED"}[event]
        review = {"id": self._new_id(), "body": body.get("body", ""), "state": state, "user": {"login": "fixloop-bot"}}
        self.repo.reviews.setdefault(pr["number"], []).append(review)
        return 200, review


def _handler_class(server: LocalGitHubServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def setup(self) -> None:
            super().setup()
            # Headers and body go out in two writes: without this, Nagle + delayed ACK add ~200 ms per request.
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            try:
                body = json.loads(raw) if raw else None
            except ValueError:
                self._reply(400, {"message": "Problems parsing JSON"})
                return
            status, payload = server.handle(self.command, self.path, body, self.headers.get("Authorization", ""))
            self._reply(status, payload)

        def _reply(self, status: int, payload: Any) -> None:
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = _serve

        def log_message(self, format: str, *args: Any) -> None:  # silence the default stderr log
            return

    return Handler
