"""The local entries:list server's filter evaluation."""

from __future__ import annotations

import pytest

from fixloop.integrations.logs.local_server import FilterError, entry_matches
from tests.integrations.logs.samples import api_entry


def test_filter_clauses() -> None:
    entry = api_entry(2, "ERROR", "boom", trace="projects/p/traces/t1")
    assert entry_matches(entry, 'severity>=WARNING AND resource.labels.service_name="chatbackend"')
    assert not entry_matches(entry, "severity>=CRITICAL")
    assert entry_matches(entry, 'timestamp>="2026-11-26T16:44:01Z" AND timestamp<="2026-11-26T16:44:03Z"')
    assert not entry_matches(entry, 'timestamp>="2026-11-26T16:44:03Z"')
    assert entry_matches(entry, 'trace="projects/p/traces/t1"')
    assert not entry_matches(entry, 'resource.labels.revision_name="other"')


def test_unknown_fields_are_refused() -> None:
    with pytest.raises(FilterError):
        entry_matches(api_entry(0, "INFO", "x"), 'httpRequest.status="500"')
