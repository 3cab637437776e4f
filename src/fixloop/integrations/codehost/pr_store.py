"""Pull-request records of the local code host: one JSON file per remote, under fixloop's home,
read and written under a file lock so parallel nodes and processes never lose an update."""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, ValidationError

from fixloop.errors import CodeHostError
from fixloop.paths import fixloop_home
from fixloop.records import PullRequestRecord, utc_now


class PrComment(BaseModel):
    by: str
    body: str
    at: datetime = Field(default_factory=utc_now)


class PrReview(BaseModel):
    by: str
    event: Literal["APPROVE", "REQUEST_CHANGES", "COMMENT"]
    body: str = ""
    at: datetime = Field(default_factory=utc_now)


class LocalPullRequest(BaseModel):
    number: int
    title: str
    body: str
    head: str
    base: str
    head_sha: str
    url: str
    category_id: str = ""
    state: Literal["open", "merged", "closed"] = "open"
    comments: list[PrComment] = Field(default_factory=list)
    reviews: list[PrReview] = Field(default_factory=list)
    merge_sha: str = ""
    merged_by: str = ""
    created_at: datetime = Field(default_factory=utc_now)
    updated_at: datetime = Field(default_factory=utc_now)
    merged_at: datetime | None = None

    def record(self) -> PullRequestRecord:
        return PullRequestRecord(
            number=self.number,
            url=self.url,
            branch=self.head,
            base=self.base,
            title=self.title,
            state=self.state,
            head_sha=self.head_sha,
            category_id=self.category_id,
        )


class PullRequestFile(BaseModel):
    remote: str
    pulls: list[LocalPullRequest] = Field(default_factory=list)

    def get(self, number: int) -> LocalPullRequest:
        for pr in self.pulls:
            if pr.number == number:
                return pr
        raise CodeHostError(f"pull request #{number} does not exist on {self.remote}")


class PullRequestStore:
    def __init__(self, remote: Path, folder: Path | None = None) -> None:
        self.remote = remote
        digest = hashlib.sha256(str(remote).encode()).hexdigest()[:10]
        base = folder or fixloop_home() / "codehost"
        base.mkdir(parents=True, exist_ok=True)
        self.path = base / f"{remote.name.removesuffix('.git')}-{digest}.json"

    def read(self) -> PullRequestFile:
        with self._locked():
            return self._load()

    @contextmanager
    def update(self) -> Iterator[PullRequestFile]:
        """The records, saved atomically when the block ends without an error."""
        with self._locked():
            data = self._load()
            yield data
            tmp = self.path.with_suffix(".json.tmp")
            tmp.write_text(data.model_dump_json(indent=2), encoding="utf-8")
            os.replace(tmp, self.path)

    @contextmanager
    def _locked(self) -> Iterator[None]:
        with open(self.path.with_suffix(".lock"), "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def _load(self) -> PullRequestFile:
        if not self.path.exists():
            return PullRequestFile(remote=str(self.remote))
        try:
            return PullRequestFile.model_validate(json.loads(self.path.read_text(encoding="utf-8")))
        except (ValueError, ValidationError) as exc:
            raise CodeHostError(f"pull request store {self.path} is corrupt: {str(exc).splitlines()[0]}") from None
