"""Mailchimp's own settings: the API key, the audience and where the API lives.

Read from ``MAILCHIMP_*`` environment variables and the ``.env`` file beside the project
file. The key is a ``SecretStr``; its ``-usNN`` suffix names the data centre.
"""

from __future__ import annotations

import re
from pathlib import Path

from pydantic import SecretStr, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from newsletter.config import Settings
from newsletter.errors import ConfigError

_DATA_CENTRE = re.compile(r"-([a-z]{2}[0-9]{1,3})$")


class MailchimpSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="MAILCHIMP_", extra="ignore", frozen=True)

    api_key: SecretStr | None = None
    audience_id: str | None = None
    base_url: str | None = None

    @classmethod
    def for_project(cls, settings: Settings) -> MailchimpSettings:
        env_file: Path = settings.root / ".env"
        try:
            return cls(_env_file=env_file if env_file.exists() else None)
        except ValidationError as exc:
            field = ".".join(str(part) for part in exc.errors()[0]["loc"])
            raise ConfigError(f"MAILCHIMP_{field.upper()} is not valid") from None

    def key(self) -> SecretStr:
        if self.api_key is None or not self.api_key.get_secret_value().strip():
            raise ConfigError(
                "MAILCHIMP_API_KEY is not set: add it to .env (Mailchimp: Account > Extras > "
                "API keys)"
            )
        return self.api_key

    def audience(self) -> str:
        if not self.audience_id:
            raise ConfigError(
                "MAILCHIMP_AUDIENCE_ID is not set: add the audience id to .env (Mailchimp: "
                "Audience > Settings > Audience name and defaults)"
            )
        return self.audience_id

    def api_root(self) -> str:
        """``MAILCHIMP_BASE_URL``, or the data centre's address taken from the key."""
        if self.base_url:
            return self.base_url.rstrip("/")
        match = _DATA_CENTRE.search(self.key().get_secret_value().strip())
        if match is None:
            raise ConfigError(
                "MAILCHIMP_API_KEY does not end in a data centre such as -us21; "
                "copy the whole key from Mailchimp"
            )
        return f"https://{match.group(1)}.api.mailchimp.com/3.0"
