"""How fast an issue renders, against the reference MJML compiler measured in the same run.

    python benchmarks/render.py [--iterations N] [--check]

Times the whole pipeline for the example issue (load + validate the YAML, Jinja2, MJML,
CSS inlining, text part) and the MJML step alone, then compiles the same MJML with the
reference compiler from npm (`mjml`, pinned in package.json) in one warm Node process.
Goals: at most 5 ms per whole issue; our MJML step (mjml-python + css-inline, which is
what the reference compiler does: MJML in, HTML with inlined CSS out) at least 10x faster
than the reference on the same MJML; example HTML at most 60 KB.
``--check`` exits 1 when a goal is missed.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from timing import per_call_ms  # noqa: E402

from newsletter.campaigns import load_issue  # noqa: E402
from newsletter.config import load_settings  # noqa: E402
from newsletter.render.compile import compile_issue  # noqa: E402
from newsletter.render.markdown import forget_markdown  # noqa: E402
from newsletter.render.mjml import compile_mjml  # noqa: E402

EXAMPLE = ROOT / "campaigns" / "winter-2026.yaml"
GOAL_MS = 5.0
GOAL_RATIO = 10.0
GOAL_KB = 60.0


def reference(mjml_source: str, iterations: int) -> dict[str, object] | None:
    node = shutil.which("node")
    script = ROOT / "benchmarks" / "mjml_reference.js"
    if node is None or not (ROOT / "node_modules" / "mjml").is_dir():
        return None
    with tempfile.NamedTemporaryFile("w", suffix=".mjml", encoding="utf-8") as source:
        source.write(mjml_source)
        source.flush()
        answer = subprocess.run(
            [node, str(script), source.name, str(iterations)],
            capture_output=True,
            text=True,
            check=True,
            cwd=ROOT,
        )
    return json.loads(answer.stdout)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iterations", type=int, default=200)
    parser.add_argument("--check", action="store_true", help="exit 1 when a goal is missed")
    args = parser.parse_args()

    settings = load_settings(ROOT / "newsletter.yaml")
    compiled = compile_issue(load_issue(EXAMPLE, settings), settings)

    def whole_issue() -> object:
        forget_markdown()  # each issue's text is new: no parse is served from the cache
        return compile_issue(load_issue(EXAMPLE, settings), settings)

    pipeline_ms = per_call_ms(whole_issue, args.iterations)
    mjml_ms = per_call_ms(lambda: compile_mjml(compiled.mjml), args.iterations)
    html_kb = compiled.html_bytes / 1024

    print(f"example issue: {EXAMPLE.relative_to(ROOT)}")
    print(f"  whole issue (load + Jinja2 + MJML + CSS inline + text): {pipeline_ms:.2f} ms")
    print(f"  MJML step alone (mjml-python + css-inline):              {mjml_ms:.2f} ms")
    print(f"  HTML {html_kb:.1f} KB, text {compiled.text_bytes / 1024:.1f} KB")

    missed = []
    if pipeline_ms > GOAL_MS:
        missed.append(f"whole issue {pipeline_ms:.2f} ms > {GOAL_MS} ms")
    if html_kb > GOAL_KB:
        missed.append(f"HTML {html_kb:.1f} KB > {GOAL_KB} KB")

    baseline = reference(compiled.mjml, max(args.iterations // 5, 20))
    if baseline is None:
        print("reference MJML compiler: not installed (run `npm ci`); no ratio")
        missed.append("no reference measurement")
    else:
        reference_ms = float(baseline["ms_per_compile"])  # type: ignore[arg-type]
        ratio_whole = reference_ms / pipeline_ms
        ratio_mjml = reference_ms / mjml_ms
        print(f"reference MJML compiler (npm mjml {baseline['version']}, warm Node):")
        reference_kb = int(baseline["html_bytes"]) / 1024  # type: ignore[call-overload]
        print(f"  same MJML: {reference_ms:.2f} ms, HTML {reference_kb:.1f} KB")
        print(f"  ratio, reference MJML / our whole issue: {ratio_whole:.1f}x")
        print(f"  ratio, reference MJML / our MJML step:   {ratio_mjml:.1f}x")
        if ratio_mjml < GOAL_RATIO:
            missed.append(f"MJML step only {ratio_mjml:.1f}x faster than the reference")
    goals = (
        f"goals: <= {GOAL_MS} ms per issue, MJML step >= {GOAL_RATIO}x the reference, "
        f"HTML <= {GOAL_KB} KB"
    )
    print(goals + (": met" if not missed else ": MISSED: " + "; ".join(missed)))
    return 1 if args.check and missed else 0


if __name__ == "__main__":
    sys.exit(main())
