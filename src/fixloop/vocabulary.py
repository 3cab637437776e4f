"""The run's words, defined once: statuses, the ended sets, autonomy levels, LLM modes.

Every other module (state, config, runs, the graph, autonomy, the server) imports them from here.
This module imports nothing of fixloop, so any layer may use it.
"""

from __future__ import annotations

from typing import Literal, get_args

RunStatus = Literal["running", "green", "awaiting_approval", "gave_up", "diagnosed", "error"]
FINISHED: tuple[RunStatus, ...] = ("green", "gave_up", "diagnosed")  # the graph ended the run itself
ENDED: tuple[RunStatus, ...] = (*FINISHED, "error")  # nothing more happens without a resume

AutonomyLevel = Literal["diagnose", "patch", "pr", "merge"]
LEVELS: tuple[AutonomyLevel, ...] = get_args(AutonomyLevel)  # lowest first

LLMMode = Literal["none", "scripted", "openai"]
LLM_MODES: tuple[LLMMode, ...] = get_args(LLMMode)
