"""Mine log templates with Drain3: deduplicate, count, first/last seen, link to failing tests.

The miner is Drain3's own ``Drain`` tree behind Drain3's own ``LogMasker``, with a cache in
front: a message seen before (raw, or after masking) is not fed to the tree again, only
counted. Feeding a line that is already covered by its cluster's template changes neither the
template nor the tree, so the templates are the ones ``TemplateMiner.add_log_message`` gives
for every line; ``benchmarks/bench_log_mining.py`` checks that on 1M lines and reports the ratio.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from drain3.drain import Drain
from drain3.masking import LogMasker, MaskingInstruction
from drain3.template_miner_config import TemplateMinerConfig

from fixloop.integrations.logs.entries import severity_rank
from fixloop.interfaces import LogEntry

# (pattern, mask name, a substring every match contains: when absent the substitution is skipped,
# which cannot change the result)
MASKS: tuple[tuple[str, str, str], ...] = (
    (r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(?:[.,]\d+)?(?:Z|[+-]\d{2}:?\d{2})?", "TS", ":"),
    (r"\b[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\b", "ID", "-"),
    (r"\b(?:\d{1,3}\.){3}\d{1,3}(?::\d+)?\b", "IP", "."),
    (r"\b0x[0-9a-fA-F]+\b", "HEX", "0x"),
    (r"\b(?=[0-9a-fA-F]*\d)(?=[0-9a-fA-F]*[a-fA-F])[0-9a-fA-F]{8,}\b", "HEX", ""),
    (r"(?<=[=:\s])[A-Za-z]+[-_][A-Za-z0-9]*\d[A-Za-z0-9]*\b", "ID", ""),
    (r"(?<![\w<])[-+]?\d+(?:\.\d+)?(?![\w>])", "NUM", ""),
)
MAX_EXAMPLES = 3
# an HTTP status in a log line ("-> 500", "status=404", "HTTP/1.1 200", '" 503'): its class (2xx, 5xx) splits templates
STATUS = re.compile(
    r"(?:->|\bstatus(?:_code)?[=: ]+|\bHTTP/[\d.]+\s+|\bcode[=: ]+|\"\s+)\s*([1-5])\d\d\b", re.IGNORECASE
)


def miner_config() -> TemplateMinerConfig:
    """Drain3 settings used by fixloop (and by the benchmark's plain Drain3 baseline)."""
    config = TemplateMinerConfig()
    config.masking_instructions = [MaskingInstruction(pattern, name) for pattern, name, _ in MASKS]
    config.drain_sim_th = 0.4
    config.drain_depth = 4
    config.parametrize_numeric_tokens = True
    return config


@dataclass
class LogTemplate:
    """One mined template and where it was seen."""

    id: int  # 1, 2, ... in order of first occurrence
    template: str
    status_class: str = ""  # "5xx" when its lines carry an HTTP status (every line of a template has the same class)
    count: int = 0
    first_seen: datetime | None = None
    last_seen: datetime | None = None
    severity: str = "DEFAULT"  # the highest severity seen
    examples: list[str] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)  # "file:line function" of the entries' sourceLocation
    tests: list[str] = field(default_factory=list)  # failing tests whose window holds an occurrence
    timestamps: list[datetime] = field(default_factory=list, repr=False)


class CachedDrain:
    """Drain3's masker and tree, fed only messages they have not seen before."""

    def __init__(self, config: TemplateMinerConfig | None = None) -> None:
        config = config or miner_config()
        self.masker = LogMasker(config.masking_instructions, config.mask_prefix, config.mask_suffix)
        needs = {pattern: need for pattern, _, need in MASKS}
        self._steps = [
            (mi.regex, config.mask_prefix + mi.mask_with + config.mask_suffix, needs.get(mi.regex.pattern, ""))
            for mi in config.masking_instructions
            if isinstance(mi, MaskingInstruction)
        ]
        self.drain = Drain(
            sim_th=config.drain_sim_th,
            depth=config.drain_depth,
            max_children=config.drain_max_children,
            max_clusters=config.drain_max_clusters,
            extra_delimiters=config.drain_extra_delimiters,
            param_str=config.mask_prefix + "*" + config.mask_suffix,
            parametrize_numeric_tokens=config.parametrize_numeric_tokens,
        )
        self._by_raw: dict[str, int] = {}
        self._by_masked: dict[str, int] = {}

    def cluster_of(self, message: str) -> int:
        """The Drain3 cluster id of ``message`` (adding it to the tree when new)."""
        known = self._by_raw.get(message)
        if known is not None:
            return known
        masked = self.mask(message)
        cluster_id = self._by_masked.get(masked)
        if cluster_id is None:
            cluster, _ = self.drain.add_log_message(masked)
            cluster_id = cluster.cluster_id
            self._by_masked[masked] = cluster_id
        self._by_raw[message] = cluster_id
        return cluster_id

    def mask(self, message: str) -> str:
        """What ``LogMasker.mask`` returns, skipping substitutions whose required substring is absent."""
        if len(self._steps) != len(self.masker.masking_instructions):
            return self.masker.mask(message)
        for regex, mask, need in self._steps:
            if not need or need in message:
                message = regex.sub(mask, message)
        return message

    def template(self, cluster_id: int) -> str:
        return self.drain.id_to_cluster[cluster_id].get_template()


def mine_messages(messages: Iterable[str]) -> dict[str, int]:
    """Template -> count for plain message lines (what the benchmark compares)."""
    miner = CachedDrain()
    counts: dict[int, int] = {}
    for message in messages:
        cluster_id = miner.cluster_of(message)
        counts[cluster_id] = counts.get(cluster_id, 0) + 1
    out: dict[str, int] = {}
    for cluster_id, count in counts.items():
        key = miner.template(cluster_id)
        out[key] = out.get(key, 0) + count
    return out


def mine_templates(
    entries: Iterable[LogEntry],
    *,
    test_windows: Mapping[str, tuple[datetime, datetime]] | None = None,
    margin_seconds: float = 0.0,
) -> list[LogTemplate]:
    """Templates of ``entries``, most severe then most frequent first, linked to failing tests' windows.

    Entries of different severities or HTTP status classes are mined apart (one Drain3 tree each), so an INFO
    ``GET /health -> 200`` and an ERROR ``GET /x -> 500`` never share a template.
    """
    miners: dict[tuple[str, str], CachedDrain] = {}
    found: dict[tuple[str, str, int], LogTemplate] = {}
    for entry in entries:
        line = first_line(entry.message)
        part = (entry.severity.upper(), status_class(line))
        miner = miners.get(part)
        if miner is None:
            miner = miners[part] = CachedDrain()
        key = (*part, miner.cluster_of(line))
        item = found.get(key)
        if item is None:
            item = found[key] = LogTemplate(id=len(found) + 1, template="", status_class=part[1])
        _observe(item, entry)
    for (severity, klass, cluster_id), item in found.items():
        item.template = miners[(severity, klass)].template(cluster_id)
        item.timestamps.sort()
        item.first_seen, item.last_seen = item.timestamps[0], item.timestamps[-1]
        item.tests = _tests_in_window(item.timestamps, test_windows or {}, margin_seconds)
    return sorted(
        found.values(),
        key=lambda t: (-severity_rank(t.severity), -t.count, t.first_seen or datetime.max),
    )


def status_class(line: str) -> str:
    """The HTTP status class a log line reports ("5xx"), or ""."""
    match = STATUS.search(line)
    return f"{match.group(1)}xx" if match else ""


def first_line(message: str) -> str:
    """The first line of a log message (a logged traceback follows it; it is evidence, not template)."""
    return message.split("\n", 1)[0]


def _observe(item: LogTemplate, entry: LogEntry) -> None:
    item.count += 1
    item.timestamps.append(entry.timestamp)
    if severity_rank(entry.severity) > severity_rank(item.severity):
        item.severity = entry.severity
    example = first_line(entry.message)
    if len(item.examples) < MAX_EXAMPLES and example not in item.examples:
        item.examples.append(example)
    if entry.source_file:
        where = f"{entry.source_file}:{entry.source_line or 0} {entry.source_function}".strip()
        if where not in item.sources:
            item.sources.append(where)


def _tests_in_window(
    timestamps: list[datetime], windows: Mapping[str, tuple[datetime, datetime]], margin_seconds: float
) -> list[str]:
    margin = timedelta(seconds=margin_seconds)
    linked = []
    for test, (start, end) in windows.items():
        index = bisect.bisect_left(timestamps, start - margin)
        if index < len(timestamps) and timestamps[index] <= end + margin:
            linked.append(test)
    return linked
