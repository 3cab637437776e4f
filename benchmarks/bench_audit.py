"""Benchmark: the SSOT audit of a one-file fix on a generated repository of N modules, against the
baseline of merely parsing every module once (the least any whole-repo AST check must do).

Usage: /work/venv/bin/python benchmarks/bench_audit.py [--modules 2000]

Prints both times and the ratio audit / parse-only (lower is better; the audit also applies the
patch with git, diffs, indexes definitions and key reads, and runs every check).
"""

from __future__ import annotations

import argparse
import ast
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from fixloop.agents.auditor import audit_patch  # noqa: E402


def module(i: int) -> str:
    body = [
        f'"""Module {i}."""',
        "import os",
        "",
        f'EVENT_{i} = "event_{i}"',
        f'SETTING_{i}_ENV = "APP_SETTING_{i}"',
        "",
    ]
    for j in range(8):
        body += [
            f"def handler_{i}_{j}(payload):",
            f"    if payload.get('kind') == EVENT_{i}:",
            f"        return os.environ.get(SETTING_{i}_ENV, '{j}')",
            "    return None",
            "",
            "",
        ]
    return "\n".join(body)


def build(root: Path, modules: int) -> None:
    for i in range(modules):
        folder = root / "app" / f"pkg{i // 100}"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"mod{i}.py").write_text(module(i))
    subprocess.run(["git", "init", "-q", str(root)], check=True)
    subprocess.run(["git", "-C", str(root), "add", "-A"], check=True)
    subprocess.run(
        ["git", "-C", str(root), "-c", "user.name=b", "-c", "user.email=b@b", "commit", "-qm", "b"], check=True
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--modules", type=int, default=2000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "repo"
        build(root, args.modules)
        target = root / "app" / "pkg0" / "mod1.py"
        text = target.read_text()
        target.write_text(text.replace("return None", "return {}", 1))
        patch = subprocess.run(["git", "-C", str(root), "diff"], capture_output=True, text=True, check=True).stdout
        subprocess.run(["git", "-C", str(root), "checkout", "-q", "--", "."], check=True)

        start = time.perf_counter()
        for path in root.rglob("*.py"):
            ast.parse(path.read_text())
        parse_only = time.perf_counter() - start

        start = time.perf_counter()
        result = audit_patch(patch, root)
        audit = time.perf_counter() - start
    assert result.passed, result.findings
    print(f"modules: {args.modules}")
    print(f"parse every module once: {parse_only:.3f} s")
    print(f"audit_patch (one-file fix): {audit:.3f} s")
    print(f"ratio audit / parse-only: {audit / parse_only:.2f}")


if __name__ == "__main__":
    main()
