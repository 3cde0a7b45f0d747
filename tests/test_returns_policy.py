"""What a report does to its member: statuses, soft-bounce counting, the consent log and
the kept report."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from conftest import TEST_SECRET
from returns_support import Addressee, return_addresses, sample

from newsletter.config import load_settings
from newsletter.models import SubscriberStatus
from newsletter.providers.base import ChangeSource, MemberInput
from newsletter.providers.local import LocalProvider
from newsletter.returns import policy
from newsletter.returns.addresses import AddressKind, AddressToken
from newsletter.returns.classify import Decision, Verdict, classify
from newsletter.store import campaigns, consent
from newsletter.store import returns as store
from newsletter.store.return_batch import ReturnsStore
from newsletter.store.tables import deliveries

T0 = datetime(2027, 1, 4, 9, 0, tzinfo=UTC)
LIMITS = policy.Limits(soft_bounce_limit=3, soft_bounce_window=5)


@pytest.fixture
def local(project_dir):
    settings = load_settings(
        project_dir / "newsletter.yaml",
        secret=TEST_SECRET,
        bounce_address="bounces@news.example.org",
    )
    provider = LocalProvider(settings)
    provider.import_members(
        [MemberInput(f"m{n}@example.net", topics=frozenset({"events"})) for n in range(3)]
    )
    yield provider
    provider.close()


def member(local, n=0):
    return local.find_by_email(f"m{n}@example.net")


def sent(local, slug: str, day: int, *members) -> int:
    """A campaign sent on ``day`` to ``members``; its id."""
    at = T0 + timedelta(days=day)
    with local.engine.begin() as connection:
        campaign = campaigns.get_or_create(connection, "local", slug, slug, at)
        connection.execute(
            deliveries.insert(),
            [
                {
                    "campaign_id": campaign.id,
                    "subscriber_id": m.id,
                    "status": "sent",
                    "message_id": f"<{slug}.run.{m.id}@example.org>",
                    "attempts": 1,
                    "uncertain_sends": 0,
                    "updated_at": at,
                }
                for m in members
            ],
        )
    return campaign.id


def apply(local, decision: Decision, raw: bytes = b"raw report", *, day: int = 30):
    with local.engine.begin() as connection:
        batch = ReturnsStore(connection)
        policy.prepare(batch, [(decision, raw)])
        applied = policy.apply(batch, decision, raw, LIMITS, T0 + timedelta(days=day))
        batch.flush()
        return applied


def report(verdict, who, campaign_id, report_id, **extra) -> Decision:
    token = AddressToken(
        AddressKind.UNSUBSCRIBE if verdict is Verdict.UNSUBSCRIBE else AddressKind.RETURN_PATH,
        who.id,
        campaign_id,
    )
    return Decision(verdict, "test", f"<{report_id}@mx.example.net>", token, **extra)


def history(local, who):
    with local.engine.connect() as connection:
        return consent.history(connection, who.id)


def test_a_hard_bounce_marks_the_member_bounced_with_its_report_in_the_log(local):
    ann = member(local)
    campaign = sent(local, "winter", 0, ann)
    raw = sample("postfix_hard", Addressee(ann.id, campaign, ann.email, "<x@y>"))
    applied = apply(local, classify(raw, return_addresses()), raw)
    assert (applied.handled, applied.changed, applied.outcome) == (True, True, "bounced (hard)")
    assert member(local).status is SubscriberStatus.BOUNCED
    last = history(local, ann)[-1]
    assert (last.action, last.source) == ("bounced", ChangeSource.BOUNCE.value)
    assert "issue winter" in last.note
    assert "<20270112091403.4Qx1Lz6Hc9z9sVb@relay.news.example.org>" in last.note
    assert "5.1.1" in last.note
    with local.engine.connect() as connection:
        key = "<20270112091403.4Qx1Lz6Hc9z9sVb@relay.news.example.org>"
        assert store.raw_report(connection, key) == raw


def test_the_same_report_twice_changes_nothing_the_second_time(local):
    ann = member(local)
    campaign = sent(local, "winter", 0, ann)
    decision = report(Verdict.SOFT_BOUNCE, ann, campaign, "once")
    assert apply(local, decision).outcome == "soft bounce 1 of 3"
    before = history(local, ann)
    again = apply(local, decision)
    assert (again.handled, again.changed, again.outcome) == (True, False, "handled before")
    assert history(local, ann) == before


def test_three_soft_bounces_in_a_row_mark_the_member_bounced(local):
    ann = member(local)
    ids = [sent(local, f"issue-{n}", n, ann) for n in range(3)]
    outcomes = [apply(local, report(Verdict.SOFT_BOUNCE, ann, c, f"s{c}")) for c in ids]
    assert [o.outcome for o in outcomes] == [
        "soft bounce 1 of 3",
        "soft bounce 2 of 3",
        "bounced (3 soft bounces in a row)",
    ]
    assert member(local).status is SubscriberStatus.BOUNCED
    assert [e.action for e in history(local, ann)][-3:] == ["soft-bounce", "soft-bounce", "bounced"]


def test_a_delivery_in_between_resets_the_count(local):
    ann = member(local)
    ids = [sent(local, f"issue-{n}", n, ann) for n in range(4)]
    for campaign in (ids[0], ids[1], ids[3]):
        last = apply(local, report(Verdict.SOFT_BOUNCE, ann, campaign, f"s{campaign}"))
    assert last.outcome == "soft bounce 1 of 3"
    assert member(local).status is SubscriberStatus.SUBSCRIBED


def test_soft_bounces_older_than_the_window_do_not_count(local):
    ann = member(local)
    ids = [sent(local, f"issue-{n}", n, ann) for n in range(6)]
    for campaign in ids[:3]:
        last = apply(local, report(Verdict.SOFT_BOUNCE, ann, campaign, f"s{campaign}"))
    assert last.outcome == "soft bounce 2 of 3", "only two of the three are in the last five"
    assert member(local).status is SubscriberStatus.SUBSCRIBED


@pytest.mark.parametrize(
    ("sends", "bounced", "run"),
    [
        ([3, 2, 1], {1, 2, 3}, 3),
        ([4, 3, 2, 1], {4, 2, 1}, 1),
        ([5, 4, 3, 2, 1], {3, 2, 1}, 3),
        ([5, 4, 3, 2, 1], set(), 0),
        ([2, 1], {9}, 0),
    ],
)
def test_soft_run(sends, bounced, run):
    assert policy.soft_run(sends, bounced) == run


def test_a_complaint_found_by_our_message_id_alone_marks_the_member_complained(local):
    ann, bob = member(local, 0), member(local, 1)
    campaign = sent(local, "winter", 0, ann, bob)
    decision = Decision(
        Verdict.COMPLAINT,
        "feedback report, type abuse",
        "<arf1@fbl.example>",
        original_id=f"<winter.run.{bob.id}@example.org>",
    )
    applied = apply(local, decision)
    assert applied.changed and applied.subscriber_id == bob.id
    assert member(local, 1).status is SubscriberStatus.COMPLAINED
    assert member(local, 0).status is SubscriberStatus.SUBSCRIBED
    last = history(local, bob)[-1]
    assert (last.action, last.source) == ("complained", "complaint")
    with local.engine.connect() as connection:
        assert store.counts(connection, campaign) == {"complaint": 1}


def test_a_complaint_overrides_an_earlier_unsubscribe(local):
    ann = member(local)
    campaign = sent(local, "winter", 0, ann)
    local.unsubscribe(ann.id, source=ChangeSource.PAGE)
    apply(local, report(Verdict.COMPLAINT, ann, campaign, "arf"))
    assert member(local).status is SubscriberStatus.COMPLAINED


def test_a_mailto_unsubscribe_unsubscribes_with_its_source(local):
    ann = member(local)
    campaign = sent(local, "winter", 0, ann)
    apply(local, report(Verdict.UNSUBSCRIBE, ann, campaign, "u1"))
    assert member(local).status is SubscriberStatus.UNSUBSCRIBED
    assert history(local, ann)[-1].source == "mailto"


def test_a_bounce_for_a_member_who_already_left_is_logged_but_changes_nothing(local):
    ann = member(local)
    campaign = sent(local, "winter", 0, ann)
    local.unsubscribe(ann.id, source=ChangeSource.PAGE)
    applied = apply(local, report(Verdict.HARD_BOUNCE, ann, campaign, "late"))
    assert (applied.handled, applied.changed) == (True, False)
    assert member(local).status is SubscriberStatus.UNSUBSCRIBED
    last = history(local, ann)[-1]
    assert last.action == "hard-bounce" and last.note.startswith("already unsubscribed")


@pytest.mark.parametrize(
    ("decision", "why"),
    [
        (Decision(Verdict.AUTO_REPLY, "out of office"), "out of office"),
        (Decision(Verdict.HARD_BOUNCE, "x", "<r@x>"), "names none of our messages"),
        (
            Decision(Verdict.HARD_BOUNCE, "x", "<r@x>", original_id="<not-ours@example.org>"),
            "names none of our messages",
        ),
        (
            Decision(
                Verdict.HARD_BOUNCE,
                "x",
                "<r@x>",
                AddressToken(AddressKind.RETURN_PATH, "gone-member", 1),
            ),
            "no longer in the audience",
        ),
        (
            Decision(
                Verdict.UNSUBSCRIBE,
                "x",
                "<r@x>",
                AddressToken(AddressKind.RETURN_PATH, "gone-member", 1),
            ),
            "names none of our messages",
        ),
    ],
    ids=["auto-reply", "no token", "foreign message id", "unknown member", "wrong token kind"],
)
def test_reports_that_cannot_be_tied_to_a_member_are_left_for_a_person(local, decision, why):
    applied = apply(local, decision)
    assert not applied.handled
    assert why in applied.outcome
    assert all(m.status is SubscriberStatus.SUBSCRIBED for m in local.members())


def test_a_non_standard_bounce_must_name_the_members_address(local):
    ann = member(local)
    campaign = sent(local, "winter", 0, ann)
    decision = report(
        Verdict.HARD_BOUNCE,
        ann,
        campaign,
        "q1",
        recipient="forwarded@elsewhere.example",
        heuristic=True,
    )
    applied = apply(local, decision)
    assert not applied.handled and "forwarded@elsewhere.example" in applied.outcome
    assert member(local).status is SubscriberStatus.SUBSCRIBED


def test_an_import_keeps_bounced_and_complained_members_unless_resubscribe(local):
    ann, bob = member(local, 0), member(local, 1)
    campaign = sent(local, "winter", 0, ann, bob)
    apply(local, report(Verdict.HARD_BOUNCE, ann, campaign, "h"))
    apply(local, report(Verdict.COMPLAINT, bob, campaign, "c"))
    again = [MemberInput(m.email, topics=frozenset({"events"})) for m in (ann, bob)]
    assert local.import_members(again).kept_unsubscribed == 2
    assert member(local, 0).status is SubscriberStatus.BOUNCED
    assert member(local, 1).status is SubscriberStatus.COMPLAINED
    assert local.import_members(again, resubscribe=True).updated == 2
    assert member(local, 1).status is SubscriberStatus.SUBSCRIBED


def test_kept_reports_are_dropped_after_the_retention_but_the_decision_stays(local):
    ann = member(local)
    campaign = sent(local, "winter", 0, ann)
    apply(local, report(Verdict.HARD_BOUNCE, ann, campaign, "kept"), b"the report", day=1)
    key = "<kept@mx.example.net>"
    with local.engine.begin() as connection:
        assert store.drop_expired(connection, T0 + timedelta(days=90)) == 0
        assert store.raw_report(connection, key) == b"the report"
        assert store.drop_expired(connection, T0 + timedelta(days=91)) == 1
        assert store.raw_report(connection, key) is None
        assert store.is_recorded(connection, key)
        assert store.counts(connection, campaign) == {"hard-bounce": 1}
