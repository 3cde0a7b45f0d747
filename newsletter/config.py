"""Settings: the project file ``newsletter.yaml`` overlaid by ``.env`` and the environment.

Precedence, highest first: keyword arguments, ``NEWSLETTER_*`` environment variables
(nested with ``__``: ``NEWSLETTER_ORGANISATION__NAME``), the ``.env`` file beside the
project file, then ``newsletter.yaml``. Secrets are ``SecretStr`` so they never print.
"""

from __future__ import annotations

import os
from contextvars import ContextVar
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    BaseModel,
    ConfigDict,
    EmailStr,
    Field,
    SecretStr,
    StringConstraints,
    ValidationError,
    ValidationInfo,
    field_validator,
)
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from newsletter.errors import CampaignError, ConfigError
from newsletter.providers.registry import PROVIDERS, unknown_provider
from newsletter.types import Colour, EmailAddress, HeaderText, HttpsUrl, Identifier
from newsletter.yamlfile import (
    DEFAULT_MAX_FILE_BYTES,
    LoadedYaml,
    clean_message,
    format_errors,
    load_yaml,
)

ENV_PREFIX = "NEWSLETTER_"

FileBytes = Annotated[
    int, Field(gt=0, description="campaign and project files larger than this are refused")
]
DnsName = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$")]
"""A DKIM selector or domain: dot-separated labels, as they appear in DNS and the signature."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Logo(_Strict):
    src: HttpsUrl
    alt: str = Field(min_length=1)
    width: int = Field(default=160, gt=0, le=600)


class Organisation(_Strict):
    name: str = Field(min_length=1)
    address: list[str] = Field(min_length=1, description="postal address, one line per item")
    website: HttpsUrl
    contact_email: EmailStr
    logo: Logo | None = None

    @property
    def address_line(self) -> str:
        return ", ".join(self.address)


class Sender(_Strict):
    """Who the email is from; each value goes into a header, so each is one line."""

    from_name: HeaderText = Field(min_length=1)
    from_email: EmailAddress
    reply_to: EmailAddress | None = None


class Brand(_Strict):
    primary: Colour = "#1d4f91"
    accent: Colour = "#c2410c"
    text: Colour = "#1f2933"
    muted: Colour = "#52606d"
    background: Colour = "#f2f4f7"
    surface: Colour = "#ffffff"
    font: str = "Helvetica, Arial, sans-serif"


class Audience(_Strict):
    name: HeaderText = Field(min_length=1, description="also the List-Id header's phrase")
    description: str = Field(min_length=1, description="why a recipient gets this email")


class Topic(_Strict):
    id: Identifier
    name: str = Field(min_length=1)
    description: str = ""


class Greeting(_Strict):
    named: str = Field(default="Hello {first_name},", description="{first_name} is replaced")
    anonymous: str = "Hello,"


class MailchimpOptions(_Strict):
    """The ``mailchimp:`` block: how topics appear in the Mailchimp audience."""

    interest_category: str = Field(
        default="Topics", min_length=1, description="the interest group category holding topics"
    )


class Settings(BaseSettings):
    """Everything the tool needs to know about this newsletter and this machine."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        env_nested_delimiter="__",
        extra="forbid",
        frozen=True,
    )

    project_file: Path = Path("newsletter.yaml")

    organisation: Organisation
    sender: Sender
    brand: Brand = Brand()
    audience: Audience
    topics: list[Topic] = []
    timezone: str = "UTC"
    language: str = Field(default="en", pattern=r"^[a-zA-Z]{2,3}(-[a-zA-Z0-9]{2,8})*$")
    direction: Literal["ltr", "rtl"] = "ltr"
    public_url: HttpsUrl
    provider: str = Field(default="local", description="a name in the provider registry")
    greeting: Greeting | None = None
    mailchimp: MailchimpOptions = MailchimpOptions()
    campaigns_dir: Path = Path("campaigns")
    templates_dir: Path = Path("templates")
    images_dir: Path = Field(
        default=Path("images"),
        description="the folder published at {public_url}/images/; the checks weigh the "
        "images an issue shows from there",
    )
    max_file_bytes: FileBytes = DEFAULT_MAX_FILE_BYTES

    secret: SecretStr | None = None
    old_secrets: SecretStr | None = Field(
        default=None, description="comma-separated secrets that still verify old links"
    )
    database_url: SecretStr = SecretStr("sqlite:///.newsletter/newsletter.db")
    smtp_url: SecretStr | None = None
    outbox: Path = Path("outbox")
    connections: int = Field(default=4, ge=1, le=64, description="SMTP connections in parallel")
    rate: float | None = Field(default=None, gt=0, description="messages per second, at most")
    smtp_retries: int = Field(
        default=4, ge=0, le=20, description="tries after a 4xx answer about a recipient"
    )
    smtp_retry_delay: float = Field(
        default=2.0, ge=0, description="seconds before the first retry; doubled each time"
    )
    smtp_timeout: float = Field(
        default=30.0,
        ge=1,
        le=600,
        description="seconds any one exchange with the SMTP server may take",
    )
    smtp_give_up_after: float = Field(
        default=60.0,
        ge=0,
        description="seconds a send keeps reconnecting to a failing SMTP server before it stops",
    )
    max_failures_in_a_row: int = Field(
        default=50,
        ge=1,
        description="a send stops after this many recipients in a row did not get the message",
    )
    max_lateness: timedelta = Field(
        default=timedelta(hours=24),
        gt=timedelta(0),
        description="run-due does not send a scheduled issue later than this (marks it missed)",
    )
    dkim_selector: DnsName | None = None
    dkim_domain: DnsName | None = None
    dkim_key_file: Path | None = None
    dkim_ed25519_selector: DnsName | None = None
    dkim_ed25519_key_file: Path | None = None
    sending_domains: list[DnsName] = Field(
        default=[],
        description="domains besides the website's that may appear in the From address",
    )
    bounce_address: EmailAddress | None = Field(
        default=None,
        description="the mailbox bounces, complaints and mailto unsubscribes come back to; "
        "each message's return path is a signed address on it (bounces+TOKEN@...)",
    )
    inbound_url: SecretStr | None = Field(
        default=None, description="imaps://user:password@host/INBOX or maildir:///path"
    )
    soft_bounce_limit: int = Field(
        default=3, ge=1, description="soft bounces in a row that mark a member bounced"
    )
    soft_bounce_window: int = Field(
        default=5, ge=1, description="...counted within the member's last this many sends"
    )
    report_retention: timedelta = Field(
        default=timedelta(days=90),
        gt=timedelta(0),
        description="how long the raw bounce and complaint reports are kept",
    )

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone '{value}'") from None
        return value

    @field_validator("provider")
    @classmethod
    def _registered_provider(cls, value: str) -> str:
        if value not in PROVIDERS:
            raise ValueError(unknown_provider(value))
        return value

    @field_validator("topics")
    @classmethod
    def _unique_topics(cls, value: list[Topic]) -> list[Topic]:
        seen: set[str] = set()
        for topic in value:
            if topic.id in seen:
                raise ValueError(f"topic id '{topic.id}' is used twice")
            seen.add(topic.id)
        return value

    @field_validator("bounce_address")
    @classmethod
    def _no_plus(cls, value: str | None) -> str | None:
        if value is not None and "+" in value.partition("@")[0]:
            raise ValueError("the bounce address cannot hold a '+': it separates the token")
        return value

    @field_validator("soft_bounce_window")
    @classmethod
    def _window_holds_limit(cls, value: int, info: ValidationInfo) -> int:
        limit = info.data.get("soft_bounce_limit")
        if isinstance(limit, int) and value < limit:
            raise ValueError(f"must be at least soft_bounce_limit ({limit})")
        return value

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def topic_ids(self) -> frozenset[str]:
        return frozenset(topic.id for topic in self.topics)

    @property
    def root(self) -> Path:
        """The folder holding the project file; relative paths are taken from here."""
        return self.project_file.resolve().parent

    def resolve(self, path: Path) -> Path:
        return path if path.is_absolute() else self.root / path

    @property
    def secrets(self) -> list[str]:
        """Signing secrets, the current one first, then those kept for rotation."""
        if self.secret is None:
            return []
        old = self.old_secrets.get_secret_value() if self.old_secrets else ""
        return [self.secret.get_secret_value()] + [s.strip() for s in old.split(",") if s.strip()]

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings, env_settings, dotenv_settings, _ProjectFileSource(settings_cls))


_project_data: ContextVar[dict[str, Any] | None] = ContextVar("project_data", default=None)


class _ProjectFileSource(PydanticBaseSettingsSource):
    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        return (_project_data.get() or {}).get(field_name), field_name, False

    def __call__(self) -> dict[str, Any]:
        return dict(_project_data.get() or {})


def find_project_file(explicit: Path | None = None) -> Path:
    if explicit is not None:
        return explicit
    from_env = os.environ.get(f"{ENV_PREFIX}PROJECT_FILE")
    return Path(from_env) if from_env else Path("newsletter.yaml")


def load_settings(project_file: Path | None = None, **overrides: Any) -> Settings:
    """Read the project file, ``.env`` beside it and the environment; one line per problem."""
    path = find_project_file(project_file)
    if not path.exists():
        raise ConfigError(
            f"{path}: no project file; run the command from the newsletter's folder "
            f"or set {ENV_PREFIX}PROJECT_FILE"
        )
    loaded = load_yaml(path, max_bytes=_project_file_limit(path))
    if loaded.data is None:
        loaded = LoadedYaml(path, {}, loaded.positions)
    if not isinstance(loaded.data, dict):
        raise CampaignError([f"{path}:1:1: the project file must be a mapping of settings"])
    token = _project_data.set(loaded.data)
    try:
        return Settings(project_file=path, _env_file=path.parent / ".env", **overrides)
    except ValidationError as exc:
        raise _settings_error(loaded, exc) from None
    finally:
        _project_data.reset(token)


class _ProjectFileLimit(BaseSettings):
    """``max_file_bytes`` from the environment and ``.env`` only.

    The project file is measured before it is read, so a value written inside it
    cannot apply to itself; it does apply to campaign files.
    """

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="ignore")

    max_file_bytes: FileBytes = DEFAULT_MAX_FILE_BYTES


def _project_file_limit(path: Path) -> int:
    try:
        return _ProjectFileLimit(_env_file=path.parent / ".env").max_file_bytes
    except ValidationError as exc:
        variable = f"{ENV_PREFIX}MAX_FILE_BYTES"
        errors = exc.errors(include_url=False, include_input=False)
        raise CampaignError(
            [f"environment {variable}: {clean_message(e['msg'])}" for e in errors]
        ) from None


def _settings_error(loaded: LoadedYaml, exc: ValidationError) -> CampaignError:
    """Errors in values set by the environment name the variable; the rest name the file line."""
    in_file, in_environment = [], []
    for error in exc.errors(include_url=False, include_input=False):
        variable = ENV_PREFIX + "__".join(str(part).upper() for part in error["loc"][:1])
        if error["loc"] and any(name.startswith(variable) for name in os.environ):
            in_environment.append(f"environment {variable}: {clean_message(error['msg'])}")
        else:
            in_file.append(error)
    lines = format_errors(loaded, in_file, Settings).lines if in_file else []
    return CampaignError(in_environment + lines)
