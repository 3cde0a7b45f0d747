"""Every failure the tool reports to a person is a ``NewsletterError``.

    NewsletterError
     ├── ConfigError            settings, newsletter.yaml, .env
     ├── CampaignError          a campaign file that does not validate (one line per problem)
     ├── RenderError            templates, MJML compilation, size limits
     ├── CheckFailed            a pre-send check found an error (newsletter check)
     ├── StoreError             the audience and campaign database
     ├── DeliveryError          SMTP and the Maildir outbox
     ├── MailboxError           the bounce mailbox newsletter inbound reads (IMAP, Maildir)
     ├── TokenError             a signed link that is tampered with, foreign or unknown
     └── ProviderError          anything a provider refuses
          ├── UnsupportedFeature   the provider cannot express what was asked
          └── ProviderAPIError     the provider's API answered with an error

The CLI turns these into one line on stderr and a non-zero exit code; anything else
is a bug and keeps its traceback.
"""

from __future__ import annotations

from collections.abc import Sequence


class NewsletterError(Exception):
    """Base class: ``str(error)`` is the line shown to the user."""

    exit_code = 1


class ConfigError(NewsletterError):
    exit_code = 2


class CampaignError(NewsletterError):
    """A campaign or project file failed to validate; ``lines`` holds every problem."""

    def __init__(self, lines: Sequence[str]) -> None:
        self.lines = list(lines)
        super().__init__("\n".join(self.lines))


class RenderError(NewsletterError):
    pass


class CheckFailed(NewsletterError):
    """The pre-send checks found errors; ``rules`` names each rule that stopped it."""

    def __init__(self, message: str, rules: Sequence[str]) -> None:
        super().__init__(message)
        self.rules = list(rules)


class StoreError(NewsletterError):
    pass


class DeliveryError(NewsletterError):
    pass


class MailboxError(NewsletterError):
    pass


class TokenError(NewsletterError):
    pass


class ProviderError(NewsletterError):
    pass


class CampaignBusy(ProviderError):
    """Another process holds the campaign (it is sending it right now)."""

    def __init__(self, message: str, owner: str) -> None:
        super().__init__(message)
        self.owner = owner


class UnsupportedFeature(ProviderError):
    """The chosen provider cannot do this; nothing was silently dropped."""


class ProviderAPIError(ProviderError):
    """An error answer from a provider's API, with what the provider said."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        title: str | None = None,
        detail: str | None = None,
        field_errors: Sequence[dict[str, str]] = (),
        raw: object = None,
    ) -> None:
        self.status = status
        self.title = title
        self.detail = detail
        self.field_errors = list(field_errors)
        self.raw = raw
        super().__init__(message)
