"""What the AWS wrapper is configured with, read once at startup (never at import).

The MSP's own credentials, the default region and the endpoints are NOT here: boto3 finds
them itself, through the standard chain (AWS_ACCESS_KEY_ID / AWS_PROFILE / web identity /
instance role ...), AWS_REGION / AWS_DEFAULT_REGION, and AWS_ENDPOINT_URL /
AWS_ENDPOINT_URL_<SERVICE>. Nothing of ours passes `endpoint_url`, so those variables
always win.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from whisperer.operator.environment import number


@dataclass(frozen=True)
class AwsSettings:
    """Timeouts, retries and bounds for every AWS call we make."""

    session_seconds: int = 3600
    """How long an assumed-role session lasts (STS DurationSeconds, 900 to 43200)."""
    refresh_before_seconds: float = 300.0
    """Session credentials are assumed again this long before they expire."""
    connect_timeout: float = 5.0
    read_timeout: float = 20.0
    read_attempts: int = 3
    """Total attempts (botocore standard retry mode) for calls that change nothing. Calls
    that change something (SendCommand, SendEmail, Publish) are attempted once: a retry after
    a lost answer could run a command twice."""
    throttle_delay: float = 5.0
    """The delay a ThrottledError carries (the caller may grow it per attempt)."""
    tail_chars: int = 2000
    """The most characters kept of a command's stdout, and again of its stderr (the end)."""

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> AwsSettings:
        """The WHISPERER_AWS_* settings in `environ` (os.environ by default)."""
        env = os.environ if environ is None else environ
        return cls(
            session_seconds=int(
                number(env, "WHISPERER_AWS_SESSION_SECONDS", 3600, low=900, high=43200)
            ),
            refresh_before_seconds=number(
                env, "WHISPERER_AWS_REFRESH_BEFORE_SECONDS", 300.0, low=0, high=3600
            ),
            connect_timeout=number(
                env, "WHISPERER_AWS_CONNECT_TIMEOUT_SECONDS", 5.0, low=0.1, high=120
            ),
            read_timeout=number(env, "WHISPERER_AWS_READ_TIMEOUT_SECONDS", 20.0, low=0.1, high=300),
            read_attempts=int(number(env, "WHISPERER_AWS_READ_ATTEMPTS", 3, low=1, high=10)),
            throttle_delay=number(
                env, "WHISPERER_AWS_THROTTLE_DELAY_SECONDS", 5.0, low=0, high=600
            ),
            tail_chars=int(
                number(env, "WHISPERER_AWS_OUTPUT_TAIL_CHARS", 2000, low=100, high=24000)
            ),
        )


__all__ = ["AwsSettings"]
