"""Cost of one recipient's message bytes, by kind of name, against the stdlib way.

Measured in one run, on this machine, with the example issue compiled once:
  ours     ``MessageTemplate.render`` for one recipient (headers folded, bodies filled)
  stdlib   the same headers set on an ``EmailMessage`` and folded by ``policy=SMTP``
           (headers only: the bodies are left out, so this is its cheapest part)

Prints microseconds per message for an ASCII name, a short non-ASCII name and a
300-character non-ASCII name, and the stdlib's time as a multiple of ours.

    python benchmarks/message.py [--iterations 20000]
"""

from __future__ import annotations

import argparse
import sys
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import SMTP
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from timing import per_call_ms  # noqa: E402

from newsletter.campaigns import load_issue  # noqa: E402
from newsletter.config import load_settings  # noqa: E402
from newsletter.delivery.message import MessageTemplate  # noqa: E402
from newsletter.render.compile import compile_issue  # noqa: E402
from newsletter.render.merge import Recipient  # noqa: E402

NAMES = {
    "ascii": "Ann Reader",
    "non-ascii": "Zoë Müller-Lüdenscheidt",
    "300 chars": "Zoë" * 100,
}


MESSAGE_ID = "<run.abc@example.org>"
MAILTO = "mailto:hello@example.org?subject=unsubscribe%20" + "x" * 60


def recipient(name: str) -> Recipient:
    """``name`` is the whole display name; as the last name it stays out of the greeting,
    so the bodies' slots are short and the figures are about the headers."""
    return Recipient(
        email="reader@example.org",
        last_name=name,
        unsubscribe_url="https://news.example.org/unsubscribe/" + "x" * 60,
        preferences_url="x",
        archive_url="x",
        about_url="x",
    )


def stdlib_headers(template_subject: str, person: Recipient) -> bytes:
    message = EmailMessage(policy=SMTP)
    message["To"] = Address(person.display_name, addr_spec=person.email)
    message["Subject"] = template_subject
    message["Message-ID"] = MESSAGE_ID
    message["List-Unsubscribe"] = f"<{person.unsubscribe_url}>, <{MAILTO}>"
    return message.as_bytes()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iterations", type=int, default=20_000)
    args = parser.parse_args()
    settings = load_settings(REPO / "newsletter.yaml", secret="benchmark-only-secret-0123456789")
    issue = load_issue(REPO / "campaigns" / "winter-2026.yaml", settings)
    compiled = compile_issue(issue, settings)
    template = MessageTemplate(compiled, settings)
    print(f"{'name':<12}{'ours µs':>10}{'stdlib µs':>12}{'ratio':>8}")
    for label, name in NAMES.items():
        person = recipient(name)
        count = args.iterations // 10 if len(name) > 100 else args.iterations
        ours = 1000 * per_call_ms(
            lambda p=person: template.render(p, message_id=MESSAGE_ID, unsubscribe_mailto=MAILTO),
            count,
        )
        count = max(count // (100 if len(name) > 100 else 20), 20)
        theirs = 1000 * per_call_ms(lambda p=person: stdlib_headers(compiled.subject, p), count)
        print(f"{label:<12}{ours:>10.1f}{theirs:>12.1f}{theirs / ours:>7.1f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
