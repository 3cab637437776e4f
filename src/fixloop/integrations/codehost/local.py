"""The local code host: a real bare git repository as the remote, PR records in fixloop's store.

A PR is a pushed branch plus a record; merging is a real ``git merge --no-ff`` of the PR's head
commit into the remote's base branch (done in a temporary clone and pushed back).
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from fixloop.errors import CodeHostError
from fixloop.integrations.codehost.git import run_git, validate_branch_name
from fixloop.integrations.codehost.pr_store import LocalPullRequest, PrComment, PrReview, PullRequestStore
from fixloop.records import PullRequestRecord, utc_now

BOT = "fixloop"
MERGED_REF_PREFIX = "refs/remotes/fixloop"  # where merged base branches are fetched back into the target


class LocalCodeHost:
    name = "local"

    def __init__(self, repo: Path, remote: Path, *, base_branch: str = "main", store_dir: Path | None = None) -> None:
        self.repo = repo.resolve()
        self.remote = remote.resolve()
        self.base_branch = validate_branch_name(base_branch)
        self.store = PullRequestStore(self.remote, store_dir)
        self._ensure_remote()

    # ------------------------------------------------------------ the CodeHost protocol

    def open_or_update_pr(
        self, *, branch: str, base: str, title: str, body: str, category_id: str
    ) -> PullRequestRecord:
        """Push ``branch`` (already committed locally) and open its PR, or update the open one."""
        validate_branch_name(branch)
        validate_branch_name(base)
        head_sha = self._git(
            ["rev-parse", "--verify", f"refs/heads/{branch}^{{commit}}"],
            self.repo,
            what=f"finding branch {branch!r} in {self.repo}",
        ).strip()
        self._git(
            ["push", "-q", "--force", str(self.remote), f"refs/heads/{branch}:refs/heads/{branch}"],
            self.repo,
            what=f"pushing {branch!r}",
        )
        with self.store.update() as data:
            pr = next((p for p in data.pulls if p.head == branch and p.base == base and p.state == "open"), None)
            if pr is None:
                number = max((p.number for p in data.pulls), default=0) + 1
                pr = LocalPullRequest(
                    number=number,
                    title=title,
                    body=body,
                    head=branch,
                    base=base,
                    head_sha=head_sha,
                    url=f"{self.remote.as_uri()}/pulls/{number}",
                    category_id=category_id,
                )
                data.pulls.append(pr)
            else:
                pr.title, pr.body, pr.head_sha, pr.updated_at = title, body, head_sha, utc_now()
                pr.category_id = category_id or pr.category_id
            return pr.record()

    def find_pr(self, branch: str) -> PullRequestRecord | None:
        """The open PR of ``branch``, else its most recent one, else None."""
        pulls = [p for p in self.store.read().pulls if p.head == branch]
        open_ones = [p for p in pulls if p.state == "open"]
        chosen = (open_ones or sorted(pulls, key=lambda p: p.number))[-1:] if pulls else []
        return chosen[0].record() if chosen else None

    def comment(self, pr_number: int, body: str, *, by: str = BOT) -> None:
        """Add a comment; the same body posted again (a resumed run) is not added twice."""
        with self.store.update() as data:
            pr = data.get(pr_number)
            if not any(c.body == body for c in pr.comments):
                pr.comments.append(PrComment(by=by, body=body))

    def review(self, pr_number: int, *, body: str, event: str = "COMMENT", by: str = BOT) -> None:
        """Record a review (``APPROVE``, ``REQUEST_CHANGES`` or ``COMMENT``)."""
        with self.store.update() as data:
            pr = data.get(pr_number)
            pr.reviews.append(PrReview.model_validate({"by": by, "event": event, "body": body}))

    def merge(self, pr_number: int, *, approved_by: str, expected_head: str | None = None) -> str:
        """Merge the PR's recorded head commit into its base on the remote; return the merge sha.

        Merging an already merged PR returns the recorded sha (a resumed run merges nothing twice).
        With ``expected_head``, a PR whose head moved since (a new attempt pushed after the approval)
        is refused.
        """
        pr = self.get_pr(pr_number)
        if pr.state == "merged":
            return pr.merge_sha
        if pr.state != "open":
            raise CodeHostError(f"pull request #{pr_number} is {pr.state} and cannot be merged")
        if expected_head is not None and pr.head_sha != expected_head:
            raise CodeHostError(
                f"pull request #{pr_number} changed since it was approved (head {pr.head_sha[:12]}, approved "
                f"{expected_head[:12]})",
                hint="approve the new head",
            )
        merge_sha = self._merge_on_remote(pr, approved_by)
        with self.store.update() as data:
            stored = data.get(pr_number)
            stored.state, stored.merge_sha, stored.merged_by, stored.merged_at = (
                "merged",
                merge_sha,
                approved_by,
                utc_now(),
            )
        self._git(
            ["fetch", "-q", str(self.remote), f"+refs/heads/{pr.base}:{MERGED_REF_PREFIX}/{pr.base}"],
            self.repo,
            what="fetching the merged base branch",
        )
        return merge_sha

    # ------------------------------------------------------------ extras (local only)

    def get_pr(self, pr_number: int) -> LocalPullRequest:
        """The full record of a PR: body, comments, reviews, merge sha."""
        return self.store.read().get(pr_number)

    def list_prs(self) -> list[LocalPullRequest]:
        return self.store.read().pulls

    # ------------------------------------------------------------ helpers

    def _git(self, args: list[str], cwd: Path, *, what: str | None = None, stdin: str | None = None) -> str:
        return run_git(args, cwd, error=CodeHostError, what=what, stdin=stdin)

    def _ensure_remote(self) -> None:
        if not self.remote.exists():
            self.remote.parent.mkdir(parents=True, exist_ok=True)
            self._git(
                ["init", "-q", "--bare", "-b", self.base_branch, str(self.remote)],
                self.remote.parent,
                what=f"creating the bare remote {self.remote}",
            )
        elif self._git(["rev-parse", "--is-bare-repository"], self.remote).strip() != "true":
            raise CodeHostError(
                f"{self.remote} is not a bare git repository", hint="codehost.remote must be a bare repo"
            )
        heads = self._git(["ls-remote", "--heads", str(self.remote), self.base_branch], self.repo)
        if not heads.strip():
            has_local_base = self._ref_exists(self.repo, f"refs/heads/{self.base_branch}")
            source = f"refs/heads/{self.base_branch}" if has_local_base else "HEAD"
            self._git(
                ["push", "-q", str(self.remote), f"{source}:refs/heads/{self.base_branch}"],
                self.repo,
                what=f"seeding {self.remote} with {self.base_branch}",
            )

    def _ref_exists(self, repo: Path, ref: str) -> bool:
        try:
            self._git(["rev-parse", "--verify", "-q", ref], repo)
        except CodeHostError:
            return False
        return True

    def _merge_on_remote(self, pr: LocalPullRequest, approved_by: str) -> str:
        with tempfile.TemporaryDirectory(prefix="fixloop-merge-") as tmp:
            clone = Path(tmp) / "clone"
            self._git(
                ["clone", "-q", "--branch", pr.base, str(self.remote), str(clone)],
                Path(tmp),
                what=f"cloning {self.remote}",
            )
            if not self._ref_exists(clone, f"{pr.head_sha}^{{commit}}"):
                raise CodeHostError(
                    f"pull request #{pr.number}: its head commit {pr.head_sha[:12]} is no longer on the remote",
                    hint="push the branch again",
                )
            try:
                self._git(["merge-base", "--is-ancestor", pr.head_sha, "HEAD"], clone)
                already_merged = True
            except CodeHostError:
                already_merged = False
            if not already_merged:
                subject = f"Merge pull request #{pr.number} from {pr.head}"
                argv = ["merge", "--no-ff", "-q", "-m", subject, "-m", pr.title, "-m", f"Approved-by: {approved_by}"]
                try:
                    self._git([*argv, pr.head_sha], clone, what="git merge")
                except CodeHostError as exc:
                    raise CodeHostError(
                        f"pull request #{pr.number} does not merge cleanly into {pr.base}: {exc.message}"
                    ) from None
                self._git(
                    ["push", "-q", "origin", f"HEAD:refs/heads/{pr.base}"],
                    clone,
                    what=f"pushing the merge to {pr.base}",
                )
            return self._git(["rev-parse", "HEAD"], clone).strip()
