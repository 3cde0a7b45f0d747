"""Mailchimp keeps its schedules itself: ``schedule`` records what was approved, and
``run-due`` reads each scheduled campaign's state back into the store."""

from __future__ import annotations

from datetime import UTC, datetime

from mailchimp_support import fake_provider

from newsletter.campaigns import load_issue
from newsletter.models import CampaignState
from newsletter.providers.mailchimp.fake import FakeMailchimp
from newsletter.scheduler import Outcome, exit_code, read_back


def test_schedule_records_the_approval_and_run_due_reads_the_state_back(
    settings, monkeypatch, example_file
):
    fake = FakeMailchimp()
    provider = fake_provider(settings, monkeypatch, fake)
    issue = load_issue(example_file, settings).model_copy(update={"topics": []})
    provider.schedule(issue, datetime(2031, 3, 2, 8, 45, tzinfo=UTC))
    record = provider.records.get(issue.slug)
    assert record.state is CampaignState.SCHEDULED and record.scheduled_by
    assert record.approved_hash == provider.approval_hash(issue, provider.compile(issue))
    assert record.scheduled_zone == "UTC"

    assert read_back(provider) == [], "nothing moved on"
    for status, state in (("sending", CampaignState.SENDING), ("sent", CampaignState.SENT)):
        fake.campaigns[record.remote_id]["status"] = status
        results = read_back(provider)
        assert [(r.slug, r.outcome) for r in results] == [(issue.slug, Outcome.READ_BACK)]
        assert exit_code(results) == 0
        assert provider.records.get(issue.slug).state is state
    assert "sending -> sent" in results[0].message
    assert read_back(provider) == [], "a sent campaign is not asked about again"
