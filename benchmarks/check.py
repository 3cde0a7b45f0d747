"""What the pre-send gate costs, beside what a send pays before it anyway, in one run.

    python benchmarks/check.py [--iterations N] [--check]

The gate runs once per test, send, schedule, push or run-due, on the issue just
compiled. Times, for the example issue: compiling it, the whole gate (every family
that always runs, the HTML parsed once) and each family alone on a freshly parsed
document; and, as the baseline, starting a process that loads what ``newsletter send``
loads (the CLI, the local provider, the checks), the fixed cost every command pays.
Goal: the gate adds at most a tenth of that start-up, so nobody waits on the checks.
``--check`` exits 1 when the goal is missed.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from timing import per_call_ms  # noqa: E402

from newsletter import checks  # noqa: E402
from newsletter.campaigns import load_issue  # noqa: E402
from newsletter.checks.context import CheckInput  # noqa: E402
from newsletter.config import load_settings  # noqa: E402
from newsletter.providers.memory import MemoryProvider  # noqa: E402

EXAMPLE = ROOT / "campaigns" / "winter-2026.yaml"
GOAL_SHARE = 0.10
SEND_IMPORTS = "import newsletter.cli, newsletter.providers.local, newsletter.checks"


def start_up_ms(rounds: int = 5) -> float:
    """The fastest of ``rounds`` fresh interpreters loading what a send loads."""
    best = float("inf")
    for _ in range(rounds):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", SEND_IMPORTS], check=True, cwd=ROOT)
        best = min(best, (time.perf_counter() - start) * 1000)
    return best


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

    start_ms = start_up_ms()
    compile_ms = per_call_ms(lambda: provider.compile(issue), args.iterations)
    gate_ms = per_call_ms(lambda: checks.gate(fresh()), args.iterations)
    print(f"example issue: {compiled.html_bytes / 1024:.1f} KB of HTML")
    print(f"send start-up (baseline) {start_ms:8.1f} ms")
    print(f"compile                  {compile_ms:8.2f} ms")
    print(f"gate, every family       {gate_ms:8.2f} ms   {gate_ms / compile_ms:.1f} x compile")
    for name, family in checks.FAMILIES.items():
        family_ms = per_call_ms(lambda family=family: family.findings(fresh()), args.iterations)
        print(f"  {name:<22} {family_ms:8.2f} ms (with its own parse)")
    share = gate_ms / start_ms
    met = share <= GOAL_SHARE
    print(f"goal: gate <= {GOAL_SHARE:.0%} of start-up: {share:.1%}, {'met' if met else 'MISSED'}")
    return 0 if met or not args.check else 1


if __name__ == "__main__":
    raise SystemExit(main())
