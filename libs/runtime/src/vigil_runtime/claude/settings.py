"""The Anthropic API key and endpoint, as every service that calls Claude reads them.

:class:`AnthropicSettings` holds the two settings the analyzer and the optimizer share:
``ANTHROPIC_API_KEY`` and ``ANTHROPIC_BASE_URL`` (the SDK's own names; ``VIGIL_``-prefixed
forms are accepted too). A service's settings class inherits it beside ``VigilSettings``;
an empty or blank key means no key (``vigil_runtime.claude.client.sdk_client``).
"""

from __future__ import annotations

from pydantic import AliasChoices, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["AnthropicSettings"]


class AnthropicSettings(BaseSettings):
    """See the module docstring."""

    model_config = SettingsConfigDict(env_prefix="VIGIL_", extra="ignore")

    anthropic_api_key: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("ANTHROPIC_API_KEY", "VIGIL_ANTHROPIC_API_KEY")
    )
    anthropic_base_url: str | None = Field(
        default=None,
        validation_alias=AliasChoices("ANTHROPIC_BASE_URL", "VIGIL_ANTHROPIC_BASE_URL"),
    )
