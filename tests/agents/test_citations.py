"""Citation checks: length, citations that exist, root cause, fix location, confidence."""

from __future__ import annotations

from fixloop.agents.citations import citation_problems
from fixloop.records import EvidenceBundle, EvidenceItem, FiveWhys, Location, WhyStep

BUNDLE = EvidenceBundle(
    category_id="server-error-1",
    items=[
        EvidenceItem(id="E1", kind="test-output", title="t", text="HTTP 500", source="t.py::t"),
        EvidenceItem(id="E2", kind="code", title="chat/ws.py:3", text="raise", source="chat/ws.py:3"),
    ],
    locations=[Location(file="chat/ws.py", function="accept", line=3)],
)


def chain(steps: int = 5, cite: str = "E1", **extra: object) -> FiveWhys:
    data: dict[str, object] = {
        "steps": [WhyStep(question=f"why {n}?", answer=f"because {n}", evidence=[cite]) for n in range(steps)],
        "root_cause": "KeyError in accept",
        "fix_location": "chat/ws.py:accept",
        "confidence": 0.7,
    }
    data.update(extra)
    return FiveWhys.model_validate(data)


def test_valid_chain_has_no_problems() -> None:
    assert citation_problems(chain(), BUNDLE) == []


def test_each_problem_is_reported() -> None:
    assert citation_problems(chain(steps=4), BUNDLE) == ["chain has 4 steps, needs at least 5"]
    problems = citation_problems(chain(cite="E9"), BUNDLE)
    assert problems[0] == "step 1 cites E9, not in bundle server-error-1" and len(problems) == 5
    no_cites = chain()
    no_cites.steps[2].evidence = []
    assert citation_problems(no_cites, BUNDLE) == ["step 3 cites no evidence"]
    assert citation_problems(chain(root_cause=" "), BUNDLE) == ["no root cause"]
    assert citation_problems(chain(fix_location=""), BUNDLE) == ["no fix location"]
    assert citation_problems(chain(fix_location="other/file.py:f"), BUNDLE) == [
        "fix location other/file.py:f appears in no ranked location or evidence item"
    ]
    assert citation_problems(chain(confidence=1.5), BUNDLE) == ["confidence 1.5 is outside [0, 1]"]
