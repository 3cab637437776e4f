"""Log mining: Drain3 templates, counts, first/last seen, links to failing tests, same as plain Drain3."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from drain3 import TemplateMiner

from fixloop.interfaces import LogEntry
from fixloop.tools.log_mining import mine_messages, mine_templates, miner_config

T0 = datetime(2026, 11, 26, 16, 44, 0, tzinfo=UTC)


def entry(seconds: float, message: str, severity: str = "INFO", source: str = "") -> LogEntry:
    return LogEntry(
        timestamp=T0 + timedelta(seconds=seconds),
        severity=severity,
        message=message,
        source_file=source,
        source_line=88 if source else None,
        source_function="accept" if source else "",
    )


def test_templates_dedupe_count_and_keep_first_and_last_seen() -> None:
    entries = [
        entry(0, "websocket connect user=user-17 from 10.0.0.4:5123"),
        entry(1, "websocket connect user=user-99 from 10.0.0.9:6000"),
        entry(2, "handshake failed for session 3f2a9c1e-1b2c-4d5e-8f90-0123456789ab", "ERROR", "chat/ws.py"),
        entry(3, "handshake failed for session 00000000-1111-2222-3333-444444444444", "ERROR", "chat/ws.py"),
        entry(4, "handshake failed for session 00000000-1111-2222-3333-444444444444", "ERROR", "chat/ws.py"),
        entry(5, "websocket connect user=user-3 from 10.0.0.1:1"),
    ]
    templates = mine_templates(entries)
    assert [(t.template, t.count, t.severity) for t in templates] == [
        ("handshake failed for session <ID>", 3, "ERROR"),
        ("websocket connect user=<ID> from <IP>", 3, "INFO"),
    ]
    error = templates[0]
    assert (error.first_seen, error.last_seen) == (T0 + timedelta(seconds=2), T0 + timedelta(seconds=4))
    assert len(error.examples) == 2  # distinct raw lines only
    assert error.sources == ["chat/ws.py:88 accept"]


def test_templates_link_to_failing_tests_whose_window_they_fall_in() -> None:
    entries = [entry(2.5, "agent crashed: KeyError 'tool'", "ERROR"), entry(60, "idle tick 5", "DEBUG")]
    windows = {
        "tests/test_ws.py::early": (T0 + timedelta(seconds=2), T0 + timedelta(seconds=3)),
        "tests/test_ws.py::late": (T0 + timedelta(seconds=30), T0 + timedelta(seconds=31)),
    }
    crashed, tick = mine_templates(entries, test_windows=windows)
    assert crashed.tests == ["tests/test_ws.py::early"]
    assert tick.tests == []
    widened = mine_templates(entries, test_windows=windows, margin_seconds=30)
    assert widened[1].tests == ["tests/test_ws.py::late"]


def synthetic_lines(count: int, seed: int = 7) -> list[str]:
    rng = random.Random(seed)
    shapes = [
        "websocket connect user=user-{a} from 10.0.{b}.{c}:{d}",
        "handshake failed for session {u} after {ms} ms",
        "agent {a} emitted event agent_thinking seq={b}",
        "GET /health 200 {ms}ms",
        "worker pool resized from {a} to {b} slots",
        "cache miss key=run_{a}{b} region eu-west{c}",
    ]
    lines = []
    for _ in range(count):
        shape = rng.choice(shapes)
        u = f"{rng.getrandbits(32):08x}-0000-4000-8000-{rng.getrandbits(48):012x}"
        lines.append(
            shape.format(
                a=rng.randint(1, 500),
                b=rng.randint(0, 255),
                c=rng.randint(0, 9),
                d=rng.randint(1, 65535),
                u=u,
                ms=rng.randint(1, 999),
            )
        )
    return lines


def test_cached_miner_gives_the_same_templates_and_counts_as_plain_drain3() -> None:
    lines = synthetic_lines(3000)
    plain = TemplateMiner(config=miner_config())
    for line in lines:
        plain.add_log_message(line)
    expected = {c.get_template(): c.size for c in plain.drain.clusters}
    assert mine_messages(lines) == expected


def test_lines_of_different_severities_or_status_classes_never_share_a_template() -> None:
    """Issue 15, reproduction 4: one template ``GET <*> -> <NUM>`` labelled ERROR held ``GET /health -> 200``."""
    entries = [
        entry(0, "GET /health -> 200"),
        entry(1, "GET /health -> 200"),
        entry(2, "GET /history -> 500", "ERROR"),
        entry(3, "GET /rooms -> 200"),
        entry(4, "GET /rooms -> 503", "ERROR"),
        entry(5, "GET /rooms -> 500", "WARNING"),
    ]
    templates = mine_templates(entries)
    shapes = {(t.severity, t.status_class): t.examples for t in templates}
    assert set(shapes) == {("ERROR", "5xx"), ("INFO", "2xx"), ("WARNING", "5xx")}, shapes
    assert shapes[("ERROR", "5xx")] == ["GET /history -> 500", "GET /rooms -> 503"]
    assert all("-> 200" not in line for t in templates if t.severity != "INFO" for line in t.examples)
    assert sum(t.count for t in templates) == len(entries)
    assert len({t.id for t in templates}) == len(templates)
