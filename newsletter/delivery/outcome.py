"""What a finished run means for its campaign: the state it is left in, the status the
command reports, and what the person running it should do next.

An issue is ``sent`` only when nobody is left to send to and at least one message went
out; a run that stopped short leaves it ``sending`` (resumed by running the send
again, by hand or by the scheduled job) or ``failed`` (a person has to fix something
first), with the reason kept on the campaign.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from newsletter.delivery.engine import RunResult
from newsletter.models import CampaignState, SendStatus
from newsletter.store.deliveries import DeliveryStatus


@dataclass(frozen=True)
class Released:
    """The campaign as the run left it."""

    state: CampaignState
    problem: str | None
    pending: int
    """Recipients still to send to (never tried, or uncertain and due one more try)."""
    counts: dict[DeliveryStatus, int]
    unconfirmed: int
    """Recipients sent a message the server never confirmed."""
    problems_file: Path | None
    others_sending: bool = False
    """Other workers were still sending the campaign when this one finished its share."""


def end_state(
    result: RunResult, fatal: BaseException | None, pending: int, sent_total: int
) -> tuple[CampaignState, str | None]:
    """The campaign's state after a run, and why it stopped short (None if it did not)."""
    if fatal is not None:
        return CampaignState.FAILED, " ".join(str(fatal).split()) or type(fatal).__name__
    if result.interrupted:
        return CampaignState.SENDING, "stopped by an interrupt"
    if result.relay_down:
        return CampaignState.SENDING, f"the SMTP server failed: {result.relay_down}"
    if result.stopped:
        return CampaignState.FAILED, result.stopped
    if pending:
        return CampaignState.SENDING, f"{pending:,} recipient(s) still to send to"
    if not sent_total:
        return CampaignState.FAILED, "nothing was delivered"
    return CampaignState.SENT, None


def report_status(result: RunResult, released: Released) -> SendStatus:
    if result.interrupted:
        return SendStatus.INTERRUPTED
    if released.others_sending and not (result.relay_down or result.stopped):
        return SendStatus.PARTIAL if result.failed or result.deferred else SendStatus.SENT
    if released.state is CampaignState.SENT:
        missed = released.counts.get(DeliveryStatus.FAILED, 0) + released.counts.get(
            DeliveryStatus.DEFERRED, 0
        )
        return SendStatus.PARTIAL if missed else SendStatus.SENT
    if released.state is CampaignState.SENDING:
        return SendStatus.STOPPED
    return SendStatus.FAILED


def next_steps(result: RunResult, released: Released) -> list[str]:
    """Lines telling the person what happened and what to run next."""
    again = "run the same send again"
    notes: list[str] = []
    if result.interrupted:
        notes.append(f"stopped by an interrupt: {again} to continue")
    elif result.relay_down:
        notes.append(
            f"stopped, the SMTP server failed ({result.relay_down}); "
            f"{released.pending:,} recipient(s) wait: {again} once it is back"
        )
    elif result.stopped:
        notes.append(f"{result.stopped}: fix the cause, then {again}")
    elif released.others_sending:
        notes.append(
            "this worker's share is done; other workers are still sending, and the last "
            "to finish marks the issue sent"
        )
    elif released.state is CampaignState.SENDING:
        notes.append(
            f"{released.pending:,} recipient(s) still to send to, among them messages that "
            f"got no answer (each is sent once more at most): {again}"
        )
    elif released.state is CampaignState.FAILED:
        notes.append("nothing was delivered, so the issue is not marked sent")
    deferred = released.counts.get(DeliveryStatus.DEFERRED, 0)
    if deferred:
        notes.append(
            f"{deferred:,} recipient(s) deferred by temporary refusals: "
            "`newsletter send FILE --retry-failed` tries them again later"
        )
    return notes
