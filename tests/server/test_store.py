"""Deliveries and conversations persist, and are shared by every server using the same store."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from fixloop.server.store import ServerStore

POSTGRES = "postgresql://postgres@127.0.0.1:5432/test"


def test_sqlite_store_dedupes_deliveries_across_instances(tmp_path: Path) -> None:
    first, second = ServerStore(path=tmp_path / "s.sqlite"), ServerStore(path=tmp_path / "s.sqlite")
    assert first.first_delivery("abc") is True
    assert first.first_delivery("abc") is False
    assert second.first_delivery("abc") is False  # a restarted server remembers
    assert second.first_delivery("def") is True
    first.close()
    second.close()


def test_default_store_lives_under_fixloop_home(isolated_fixloop_home: Path) -> None:
    store = ServerStore()
    assert Path(store.where) == isolated_fixloop_home / "server.sqlite"
    store.close()


def test_conversations_and_active_runs(tmp_path: Path) -> None:
    store = ServerStore(path=tmp_path / "s.sqlite")
    store.bind("run:t1", "t1", repo="chat", focus="websockets", requested_by="carol")
    store.bind("slack:C1:1.0", "t1", repo="chat", focus="websockets", requested_by="carol")
    active = store.active_run("chat", "websockets")
    assert active is not None and active.thread_id == "t1"
    assert store.active_run("chat", "auth") is None
    assert [c.key for c in store.conversations_of("t1")] == ["run:t1", "slack:C1:1.0"]
    conv = store.conversation("slack:C1:1.0")
    assert conv is not None and conv.requested_by == "carol"
    store.set_active("t1", False)
    assert store.active_run("chat", "websockets") is None
    store.close()


@pytest.mark.postgres
def test_postgres_store_is_shared_by_two_servers() -> None:
    one, two = ServerStore(POSTGRES), ServerStore(POSTGRES)
    delivery, thread = f"d-{uuid.uuid4()}", f"t-{uuid.uuid4().hex[:8]}"
    assert one.first_delivery(delivery) is True
    assert two.first_delivery(delivery) is False
    one.bind(f"slack:C:{thread}", thread, repo="chat", focus=thread, requested_by="carol")
    seen = two.active_run("chat", thread)
    assert seen is not None and seen.key == f"slack:C:{thread}"
    two.set_active(thread, False)
    assert one.active_run("chat", thread) is None
    one.close()
    two.close()


@pytest.mark.postgres
def test_once_only_keys_are_shared_through_postgres_and_forgotten_after_their_window() -> None:
    """Two servers on one PostgreSQL store: a Slack signature taken by one is a replay at the other; keys of a
    source older than its window are pruned, other sources' keys kept."""
    first, second = ServerStore(POSTGRES), ServerStore(POSTGRES)
    signature, comment = f"v0={uuid.uuid4().hex}", str(uuid.uuid4().int % 10**12)
    assert first.first_seen(signature, "slack-signature", forget_after=600) is True
    assert second.first_seen(signature, "slack-signature", forget_after=600) is False
    assert first.first_seen(comment, "github-comment") is True
    assert second.first_seen(comment, "github-comment") is False
    # prune everything (the column is a float4 REAL on PostgreSQL: +-64 s at today's epoch, hence -300, not 0)
    assert first.first_seen(f"v0={uuid.uuid4().hex}", "slack-signature", forget_after=-300) is True
    assert second.first_seen(signature, "slack-signature", forget_after=600) is True  # forgotten: its window passed
    assert second.first_seen(comment, "github-comment") is False  # another source: kept
    thread = f"t-{uuid.uuid4().hex[:8]}"
    first.bind(f"run:{thread}", thread, repo="chat", focus="websockets", requested_by="carol")
    assert thread in [c.thread_id for c in second.active_runs(limit=1000)]  # LIKE 'run:%' as a parameter
    first.close()
    second.close()
