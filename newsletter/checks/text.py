"""Text: the subject and preview text an inbox shows, template syntax or slots that
would reach readers as written, and a plain-text part that carries every link."""

from __future__ import annotations

import re
import unicodedata

from newsletter.checks import text_leftovers, text_links
from newsletter.checks.context import CheckInput
from newsletter.checks.findings import Finding, Place, Severity
from newsletter.checks.rules import Rule

SUBJECT_NOTE_CHARS = 60
SUBJECT_WARNING_CHARS = 78
PREHEADER_CHARS = (40, 130)
SHOUTED_RUN = 3
SHOUTED_WORD_LETTERS = 5

_PUNCTUATION = ".,;:!?'\"()[]"

SUBJECT = Place(field=("subject",))
PREHEADER = Place(field=("preview_text",))

RULES = (
    Rule(
        "text.subject-too-long",
        Severity.WARNING,
        f"Over {SUBJECT_WARNING_CHARS} characters the end of the subject is cut even in a "
        "wide inbox on a computer; on a phone far sooner.",
    ),
    Rule(
        "text.subject-long",
        Severity.NOTE,
        f"Phones and narrow inbox columns show about {SUBJECT_NOTE_CHARS} characters of a "
        "subject; what comes after may never be read.",
    ),
    Rule(
        "text.subject-caps",
        Severity.WARNING,
        "Words in capitals read as shouting, and spam filters score them against the message.",
    ),
    Rule(
        "text.preheader-length",
        Severity.WARNING,
        f"Under {PREHEADER_CHARS[0]} characters the inbox fills the preview line with the "
        f"start of the email ('View this email in your browser'); over {PREHEADER_CHARS[1]} "
        "it is cut.",
    ),
    Rule(
        "text.preheader-repeat",
        Severity.WARNING,
        "The inbox shows the preview text right after the subject: repeating the subject "
        "wastes the one line that could make someone open the email.",
    ),
    *text_leftovers.RULES,
    *text_links.RULES,
)


def findings(check: CheckInput) -> list[Finding]:
    subject, preheader = check.issue.subject, check.issue.preview_text
    return [
        *_subject_length(subject),
        *_subject_caps(subject),
        *_preheader(subject, preheader),
        *text_leftovers.findings(check),
        *text_links.findings(check),
    ]


def _subject_length(subject: str) -> list[Finding]:
    length = len(subject)
    fix = "shorten the subject and put the most important words first"
    if length > SUBJECT_WARNING_CHARS:
        message = f"the subject is {length} characters; inboxes cut it after about 60 to 78"
        return [Finding("text.subject-too-long", Severity.WARNING, message, fix, SUBJECT)]
    if length > SUBJECT_NOTE_CHARS:
        message = f"the subject is {length} characters; phones show about {SUBJECT_NOTE_CHARS}"
        return [Finding("text.subject-long", Severity.NOTE, message, fix, SUBJECT)]
    return []


def _subject_caps(subject: str) -> list[Finding]:
    shouted = shouting(subject)
    if shouted is None:
        return []
    return [
        Finding(
            "text.subject-caps",
            Severity.WARNING,
            f"the subject has '{shouted}' in capitals",
            "write it in ordinary sentence case; use bold or a heading inside the email "
            "for emphasis",
            SUBJECT,
        )
    ]


def shouting(text: str) -> str | None:
    """The first run of three or more words in capitals, or else the first single word
    in capitals with five or more letters; None when there is neither.

    Acronyms are left alone: a word with a digit (COVID-19), with dots (U.N.) or with
    no vowel (NSPCC, HTML) is read letter by letter, not shouted.
    """
    words = text.split()
    run: list[str] = []
    for word in [*words, ""]:
        if word and _shouted(word):
            run.append(word)
            continue
        if len(run) >= SHOUTED_RUN:
            return " ".join(run).strip(_PUNCTUATION)
        run = []
    for word in words:
        if _shouted(word) and sum(c.isalpha() for c in word) >= SHOUTED_WORD_LETTERS:
            return word.strip(_PUNCTUATION)
    return None


def _shouted(word: str) -> bool:
    letters = [c for c in word if c.isalpha()]
    if len(letters) < 2 or not all(c.isupper() for c in letters):
        return False
    if any(c.isdigit() for c in word) or re.search(r"\w\.\w", word):
        return False
    plain = unicodedata.normalize("NFD", "".join(letters))
    return any(c in "AEIOUY" for c in plain)


def _preheader(subject: str, preheader: str) -> list[Finding]:
    found = []
    length = len(preheader)
    shortest, longest = PREHEADER_CHARS
    if not shortest <= length <= longest:
        found.append(
            Finding(
                "text.preheader-length",
                Severity.WARNING,
                f"the preview text is only {length} characters"
                if length < shortest
                else f"the preview text is {length} characters; inboxes show about {longest}",
                f"write a preview text of {shortest} to {longest} characters that adds to "
                "the subject: what the reader will find inside",
                PREHEADER,
            )
        )
    said, previewed = _plain(subject), _plain(preheader)
    if said and (previewed == said or previewed.startswith(said + " ")):
        found.append(
            Finding(
                "text.preheader-repeat",
                Severity.WARNING,
                "the preview text repeats the subject",
                "use the preview text for something the subject does not say, such as "
                "the other stories in the issue",
                PREHEADER,
            )
        )
    return found


def _plain(text: str) -> str:
    """Lower case, punctuation gone, single spaces: what 'the same words' compares."""
    return " ".join(re.sub(r"[\W_]+", " ", text.casefold()).split())
