"""What the pre-send gate costs, against compiling the same issue in the same run.

    python benchmarks/check.py [--iterations N] [--check]

The gate runs before every test, send, schedule and push, on an issue that was just
compiled, so its price is best read beside the compile it follows. Times, for the
example issue: compiling it (the baseline), the whole gate (every family that always
runs, the HTML parsed once), and each family alone on a freshly parsed document.
Goal: the gate costs at most as much as the compile (ratio <= 1.0), so checking never
doubles the time before a send starts. ``--check`` exits 1 when the goal is missed.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from newsletter import checks  # noqa: E402
from newsletter.campaigns import load_issue  # noqa: E402
from newsletter.checks.context import CheckInput  # noqa: E402
from newsletter.config import load_settings  # noqa: E402
from newsletter.providers.memory import MemoryProvider  # noqa: E402

EXAMPLE = ROOT / "campaigns" / "winter-2026.yaml"
GOAL_RATIO = 1.0


def per_call_ms(action: Callable[[], object], iterations: int, rounds: int = 5) -> float:
    """The fastest of ``rounds`` (mean time per call in each), after a warm-up."""
    for _ in range(max(iterations // 10, 3)):
        action()
    means = []
    for _ in range(rounds):
        start = time.perf_counter()
        for _ in range(iterations):
            action()
        means.append((time.perf_counter() - start) * 1000 / iterations)
    return min(means)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iterations", type=int, default=50)
    parser.add_argument("--check", action="store_true", help="exit 1 when the goal is missed")
    args = parser.parse_args()
    settings = load_settings(ROOT / "newsletter.yaml")
    provider = MemoryProvider(settings)
    issue = load_issue(EXAMPLE, settings)
    compiled = provider.compile(issue)
    delivery = provider.delivery()

    def fresh() -> CheckInput:
        return CheckInput(issue, compiled, settings, delivery)

    compile_ms = per_call_ms(lambda: provider.compile(issue), args.iterations)
    gate_ms = per_call_ms(lambda: checks.gate(fresh()), args.iterations)
    print(f"example issue: {compiled.html_bytes / 1024:.1f} KB of HTML")
    print(f"compile (baseline)     {compile_ms:7.2f} ms")
    print(f"gate, every family     {gate_ms:7.2f} ms   ratio {gate_ms / compile_ms:.2f}")
    for name, family in checks.FAMILIES.items():
        family_ms = per_call_ms(lambda family=family: family.findings(fresh()), args.iterations)
        print(f"  {name:<20} {family_ms:7.2f} ms (with its own parse)")
    met = gate_ms / compile_ms <= GOAL_RATIO
    print(f"goal: gate <= {GOAL_RATIO:.1f} x compile: {'met' if met else 'MISSED'}")
    return 0 if met or not args.check else 1


if __name__ == "__main__":
    raise SystemExit(main())
