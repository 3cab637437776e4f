"""Deliveries and conversations persist, and are shared by every server using the same store."""

from __future__ import annotations

import socket
import sqlite3
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from fixloop.server.store import Claim, ServerStore
from tests.server.helpers import claim_in_a_killed_process

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


# ---------------------------------------------------------------- claims: pending until enqueued, then seen


def test_a_claim_is_pending_until_settled_then_seen(tmp_path: Path) -> None:
    one, two = ServerStore(path=tmp_path / "s.sqlite"), ServerStore(path=tmp_path / "s.sqlite")
    assert one.claim("d1") is Claim.NEW
    assert one.state("d1") == "pending"
    assert two.claim("d1") is Claim.PENDING  # a live claim (this process): a concurrent duplicate
    one.settle("d1", processed=True)
    assert two.state("d1") == "seen"
    assert two.claim("d1") is Claim.SEEN  # processed: a redelivery is dropped
    assert one.claim("d2") is Claim.NEW
    one.settle("d2", processed=False)  # answered busy: forgotten, the redelivery is new
    assert two.state("d2") is None and two.claim("d2") is Claim.NEW
    one.close()
    two.close()


def test_a_claim_whose_lease_ran_out_is_taken_over_once(tmp_path: Path) -> None:
    slow, other = ServerStore(path=tmp_path / "s.sqlite"), ServerStore(path=tmp_path / "s.sqlite")
    slow.owner = "elsewhere|boot|1"  # another machine's process: only its lease can tell
    assert slow.claim("d", lease=-1) is Claim.NEW  # a lease already over
    assert other.claim("d") is Claim.TAKEN_OVER
    assert slow.claim("d") is Claim.PENDING  # the new lease is live
    slow.settle("d", processed=True)  # no longer its claim: changes nothing
    assert other.state("d") == "pending"
    other.settle("d", processed=True)
    assert slow.claim("d") is Claim.SEEN
    slow.owner = "elsewhere|boot|2"
    assert slow.claim("live", lease=60) is Claim.NEW
    assert other.claim("live") is Claim.PENDING  # another machine, lease live: not taken
    # the same host name, another boot or container: its pid means nothing here, so a live lease holds
    slow.owner = f"{socket.gethostname()}|another-boot|pid:[1]|{2**22 + 7}"
    assert slow.claim("twin", lease=60) is Claim.NEW
    assert other.claim("twin") is Claim.PENDING
    slow.close()
    other.close()


def test_a_claim_left_by_a_killed_process_is_taken_over(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite"
    ServerStore(path=path).close()
    claim_in_a_killed_process(path, "delivery-dead")
    store = ServerStore(path=path)
    assert store.state("delivery-dead") == "pending"  # its lease (30 s) still runs, its process is gone
    assert store.claim("delivery-dead") is Claim.TAKEN_OVER
    store.settle("delivery-dead", processed=True)
    assert store.claim("delivery-dead") is Claim.SEEN
    store.close()


def test_rows_recorded_before_claims_had_states_are_seen(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite"
    old = sqlite3.connect(path)
    old.execute("CREATE TABLE fixloop_deliveries (delivery_id TEXT PRIMARY KEY, source TEXT, received REAL)")
    old.execute("INSERT INTO fixloop_deliveries VALUES ('d-old', 'github', 1.0)")
    old.commit()
    old.close()
    store = ServerStore(path=path)
    assert store.claim("d-old") is Claim.SEEN
    assert store.claim("d-new") is Claim.NEW
    store.close()


def concurrent_claims(stores: list[ServerStore], delivery: str) -> list[Claim]:
    barrier = threading.Barrier(len(stores))

    def claim(store: ServerStore) -> Claim:
        barrier.wait()
        return store.claim(delivery)

    with ThreadPoolExecutor(len(stores)) as pool:
        return list(pool.map(claim, stores))


def test_concurrent_claims_of_one_delivery_give_it_to_one(tmp_path: Path) -> None:
    stores = [ServerStore(path=tmp_path / "s.sqlite") for _ in range(8)]
    results = concurrent_claims(stores, "d")
    assert sorted(r.value for r in results) == ["new"] + ["pending"] * 7
    for store in stores:
        store.close()


@pytest.mark.postgres
def test_postgres_claims_pending_seen_and_taken_over() -> None:
    stores = [ServerStore(POSTGRES) for _ in range(4)]
    delivery = f"d-{uuid.uuid4()}"
    results = concurrent_claims(stores, delivery)
    assert sorted(r.value for r in results) == ["new", "pending", "pending", "pending"]
    stale = f"d-{uuid.uuid4()}"
    stores[0].owner = "elsewhere|boot|1"
    assert stores[0].claim(stale, lease=-1) is Claim.NEW
    assert stores[1].claim(stale) is Claim.TAKEN_OVER
    assert stores[2].claim(stale) is Claim.PENDING
    stores[1].settle(stale, processed=True)
    assert stores[3].claim(stale) is Claim.SEEN
    for store in stores:
        store.close()
