"""Records for the model-agent tests: one server-error category of the toy scenario, its evidence."""

from __future__ import annotations

from fixloop.records import Category, EvidenceBundle, EvidenceItem, FiveWhys, Location, Signature, WhyStep

CANARY = "sk-canary-7d41e0c2b9aa"


def redact_canary(text: str) -> str:
    """Stands in for ``Redactor.redact``: the agents must route every prompt through what they are given."""
    return text.replace(CANARY, "[REDACTED]")


def category(title: str = "WebSocket handshake rejected with HTTP 500") -> Category:
    return Category(
        id="server-error-1",
        kind="server-error",
        title=title,
        tests=["tests/test_ws.py::test_handshake", "tests/test_ws.py::test_echo"],
        signature=Signature(
            exception_type="InvalidStatus", message="server rejected connection: HTTP <n>", http_status=500
        ),
    )


def bundle(secret_in_log: str = "") -> EvidenceBundle:
    return EvidenceBundle(
        category_id="server-error-1",
        items=[
            EvidenceItem(id="E1", kind="test-output", title="test_handshake failed", text="InvalidStatus: HTTP 500"),
            EvidenceItem(
                id="E2",
                kind="log-template",
                title="RuntimeError in handshake",
                text=f"ERROR handshake failed: session store missing {secret_in_log}".strip(),
                source="server.log",
            ),
            EvidenceItem(
                id="E3", kind="code", title="handshake_status", text="raise RuntimeError(...)", source="app/server.py:9"
            ),
            EvidenceItem(id="E4", kind="commit", title="fault", text="abc123 change handshake", source="abc123"),
        ],
        locations=[Location(file="app/server.py", function="handshake_status", line=9, reasons=["top frame"])],
    )


def chain() -> FiveWhys:
    steps = [WhyStep(question=f"Why {i}?", answer=f"Because {i}.", evidence=[f"E{1 + i % 4}"]) for i in range(5)]
    return FiveWhys(
        steps=steps,
        root_cause="handshake_status raises instead of accepting /ws",
        fix_location="app/server.py:handshake_status",
        confidence=0.8,
        method="llm",
    )
