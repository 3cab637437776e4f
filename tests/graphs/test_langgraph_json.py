"""langgraph.json exposes compiled graphs that LangGraph Server can load."""

from __future__ import annotations

import importlib.util
import json

from langgraph.graph.state import CompiledStateGraph

from tests.conftest import PROJECT_ROOT


def test_every_graph_in_langgraph_json_loads_and_is_compiled() -> None:
    config = json.loads((PROJECT_ROOT / "langgraph.json").read_text(encoding="utf-8"))
    assert {"remediation", "investigation"} <= set(config["graphs"])
    for name, target in config["graphs"].items():
        path, attr = target.split(":")
        spec = importlib.util.spec_from_file_location(f"lgjson_{name}", PROJECT_ROOT / path)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        graph = getattr(module, attr)
        assert isinstance(graph, CompiledStateGraph)
        if name == "remediation":
            expected = {"select", "run_tests", "realness", "categorize", "investigate", "approval", "merge", "deploy"}
            assert expected <= set(graph.nodes)
