"""A client for the configured provider, and one Messages API call with the SDK's errors
translated into ours (temporary: timeouts, connection failures, 408/429/5xx; permanent:
everything else)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import anthropic

from whisperer.operator.errors import PermanentError, UnavailableError


def make_client(
    provider: str,
    *,
    api_key: str | None,
    base_url: str | None,
    timeout: float,
    max_retries: int,
) -> anthropic.Anthropic | anthropic.AnthropicBedrock:
    """The SDK client (Bedrock needs boto3 for its credentials: `pip install
    'anthropic[bedrock]'`; the region comes from AWS_REGION)."""
    if provider == "bedrock":
        return anthropic.AnthropicBedrock(
            base_url=base_url, timeout=timeout, max_retries=max_retries
        )
    return anthropic.Anthropic(
        api_key=api_key, base_url=base_url, timeout=timeout, max_retries=max_retries
    )


@dataclass(frozen=True)
class Answer:
    """The text of a reply and the tokens it cost."""

    text: str
    input_tokens: int
    output_tokens: int


def ask(
    client: Any, *, model: str, max_tokens: int, system: str, text: str, timeout: float
) -> Answer:
    """One Messages API call with one user message."""
    try:
        message = client.messages.create(
            model=model,
            max_tokens=max_tokens,
            system=system,
            messages=[{"role": "user", "content": text}],
        )
    except anthropic.APITimeoutError as exc:
        raise UnavailableError(f"no answer within {timeout:g}s") from exc
    except anthropic.APIConnectionError as exc:
        raise UnavailableError(f"cannot reach the model: {exc}") from exc
    except anthropic.APIStatusError as exc:
        error = (
            UnavailableError
            if exc.status_code in (408, 429) or exc.status_code >= 500
            else PermanentError
        )
        raise error(f"the model's API answered {exc.status_code}: {exc.message}"[:500]) from exc
    except anthropic.AnthropicError as exc:  # credentials, bad configuration
        raise PermanentError(f"the anthropic SDK failed: {exc}"[:500]) from exc
    usage = getattr(message, "usage", None)
    reply = "".join(
        getattr(block, "text", "")
        for block in getattr(message, "content", None) or []
        if getattr(block, "type", "") == "text"
    )
    return Answer(
        text=reply,
        input_tokens=int(getattr(usage, "input_tokens", 0) or 0),
        output_tokens=int(getattr(usage, "output_tokens", 0) or 0),
    )
