"""What the AI analysis is told by the operator's environment: provider, model, limits."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal, cast

from whisperer.operator.environment import number
from whisperer.operator.errors import PermanentError

DEFAULT_MODEL = "claude-sonnet-5-5"  # Bedrock has no default: its ids differ by region
Provider = Literal["anthropic", "bedrock", "off"]


@dataclass(frozen=True)
class Settings:
    """How (and whether) to ask the model; read from the environment by `from_env`."""

    provider: Provider = "off"
    api_key: str | None = field(default=None, repr=False)
    base_url: str | None = None
    model: str = DEFAULT_MODEL
    timeout: float = 20.0
    """Seconds per attempt (connect, read and write each)."""
    max_retries: int = 1
    min_confidence: float = 0.7
    budget_usd_per_day: float = 5.0
    input_usd_per_mtok: float = 3.0
    output_usd_per_mtok: float = 15.0
    max_tokens: int = 400
    cache_size: int = 1024
    cache_ttl: float = 6 * 3600.0
    workers: int = 2

    @property
    def enabled(self) -> bool:
        """Whether analysis runs at all: a provider, and for the Anthropic API a key."""
        if self.provider == "anthropic":
            return bool(self.api_key)
        return self.provider == "bedrock"

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """The settings in `environ` (os.environ by default), read now, not at import.

        WHISPERER_AI_PROVIDER is anthropic, bedrock or off; unset, it is anthropic when
        ANTHROPIC_API_KEY is set and off otherwise. A malformed value is a PermanentError
        naming the variable.
        """
        env = os.environ if environ is None else environ
        key = env.get("ANTHROPIC_API_KEY") or None
        raw = (env.get("WHISPERER_AI_PROVIDER") or "").strip().lower()
        if raw not in ("", "anthropic", "bedrock", "off"):
            raise PermanentError(
                f"WHISPERER_AI_PROVIDER must be anthropic, bedrock or off, not {raw!r}"
            )
        provider = cast(Provider, raw or ("anthropic" if key else "off"))
        base_url = env.get("WHISPERER_AI_BASE_URL") or None
        if base_url is None and provider == "anthropic":
            base_url = env.get("ANTHROPIC_BASE_URL") or None
        model = env.get("WHISPERER_AI_MODEL") or ""
        if provider == "bedrock" and not model:
            raise PermanentError(
                "WHISPERER_AI_MODEL is required with WHISPERER_AI_PROVIDER=bedrock "
                "(a Bedrock model or inference profile id)"
            )
        return cls(
            provider=provider,
            api_key=key,
            base_url=base_url,
            model=model or DEFAULT_MODEL,
            timeout=number(env, "WHISPERER_AI_TIMEOUT_SECONDS", 20.0, low=0.1),
            max_retries=int(number(env, "WHISPERER_AI_MAX_RETRIES", 1, low=0, high=5)),
            min_confidence=number(env, "WHISPERER_AI_MIN_CONFIDENCE", 0.7, low=0, high=1),
            budget_usd_per_day=number(env, "WHISPERER_AI_BUDGET_USD_PER_DAY", 5.0, low=0),
            input_usd_per_mtok=number(env, "WHISPERER_AI_INPUT_USD_PER_MTOK", 3.0, low=0),
            output_usd_per_mtok=number(env, "WHISPERER_AI_OUTPUT_USD_PER_MTOK", 15.0, low=0),
            max_tokens=int(number(env, "WHISPERER_AI_MAX_TOKENS", 400, low=64, high=4096)),
            cache_size=int(number(env, "WHISPERER_AI_CACHE_SIZE", 1024, low=0)),
            cache_ttl=number(env, "WHISPERER_AI_CACHE_TTL_SECONDS", 6 * 3600.0, low=0),
            workers=int(number(env, "WHISPERER_AI_WORKERS", 2, low=1, high=16)),
        )
