"""The run's words are defined once (``fixloop.vocabulary``): no module spells them again."""

from __future__ import annotations

import re
from pathlib import Path
from typing import get_args

import fixloop
from fixloop import autonomy, config, runs, state, vocabulary
from fixloop.graphs import remediation
from fixloop.server import options, runner

PACKAGE = Path(fixloop.__file__).parent
SPELLED_AGAIN = [
    re.compile(r'Literal\[\s*"running",\s*"green"'),  # run statuses
    re.compile(r'Literal\[\s*"diagnose",\s*"patch"'),  # autonomy levels
    re.compile(r'Literal\[\s*"none",\s*"scripted",\s*"openai"'),  # LLM modes
    re.compile(r'=\s*\(\s*"green",\s*"gave_up"'),  # a finished / ended set
    re.compile(r'=\s*\(\s*"none",\s*"scripted",\s*"openai"\s*\)'),  # a tuple of LLM modes
]


def test_every_module_uses_the_one_definition() -> None:
    assert state.RunStatusValue is vocabulary.RunStatus and state.StopAt is vocabulary.AutonomyLevel
    assert state.LLMModeValue is vocabulary.LLMMode and config.AutonomyLevel is vocabulary.AutonomyLevel
    assert runs.TERMINAL == vocabulary.FINISHED and remediation.TERMINAL == vocabulary.ENDED
    assert autonomy.ENDED == vocabulary.ENDED and autonomy.LEVELS == ("diagnose", "patch", "pr", "merge")
    assert frozenset(vocabulary.ENDED) == runner.TERMINAL and options.LLM_MODES == ("none", "scripted", "openai")
    assert set(vocabulary.ENDED) <= set(get_args(vocabulary.RunStatus))


def test_no_module_spells_the_words_again() -> None:
    copies = [
        f"{path.relative_to(PACKAGE)}: {pattern.pattern}"
        for path in sorted(PACKAGE.rglob("*.py"))
        if path.name != "vocabulary.py"
        for pattern in SPELLED_AGAIN
        if pattern.search(path.read_text(encoding="utf-8"))
    ]
    assert copies == []
