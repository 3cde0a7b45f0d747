"""Report samples (tests/returns_samples/) filled in for one member and campaign."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from conftest import TEST_SECRET

from newsletter.returns.addresses import ReturnAddresses

SAMPLES = Path(__file__).resolve().parent / "returns_samples"
MAILBOX = "bounces@news.example.org"


def return_addresses() -> ReturnAddresses:
    return ReturnAddresses(MAILBOX, [TEST_SECRET])


@dataclass(frozen=True)
class Addressee:
    """Whom a report is about: the member, the campaign and our message's id."""

    subscriber_id: str = "Sub5crIber-Id_01"
    campaign_id: int = 7
    email: str = "ann@example.net"
    message_id: str = "<winter-2026.0a1b2c3d.Sub5crIber-Id_01@example.org>"

    def values(self) -> dict[str, str]:
        addresses = return_addresses()
        return {
            "return_path": addresses.return_path(self.subscriber_id, self.campaign_id),
            "unsubscribe": addresses.unsubscribe_address(self.subscriber_id, self.campaign_id),
            "message_id": self.message_id,
            "recipient": self.email,
            "mailbox": MAILBOX,
        }


def sample(name: str, addressee: Addressee | None = None, **changes: str) -> bytes:
    """The sample ``name`` (without .eml) filled in; ``changes`` override values."""
    text = (SAMPLES / f"{name}.eml").read_text(encoding="utf-8")
    values = {**(addressee or Addressee()).values(), **changes}
    for key, value in values.items():
        text = text.replace("{{" + key + "}}", value)
    assert "{{" not in text, f"{name}: a placeholder is left"
    return text.encode("utf-8")


def names() -> list[str]:
    return sorted(path.stem for path in SAMPLES.glob("*.eml"))
