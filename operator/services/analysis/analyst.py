"""The analyst: asks the model about an incident through the cache and within the budget,
and never raises (a failure is part of the answer)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, date, datetime
from typing import Any

from whisperer.operator.ai import ask, make_client
from whisperer.operator.errors import WhispererError
from whisperer.operator.services.analysis.limits import DailyBudget, TTLCache
from whisperer.operator.services.analysis.settings import Settings
from whisperer.operator.services.analysis.verdict import Analysis, parse_answer
from whisperer.operator.services.analysis.view import SYSTEM, IncidentView, prompt

log = logging.getLogger(__name__)


class Analyst:
    """Asks the model about incidents, through the cache and within the budget; thread-safe."""

    def __init__(
        self,
        settings: Settings,
        *,
        client: Any | None = None,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
        today: Callable[[], date] | None = None,
    ) -> None:
        self.settings = settings
        self._client = (
            client
            if client is not None
            else make_client(
                settings.provider,
                api_key=settings.api_key,
                base_url=settings.base_url,
                timeout=settings.timeout,
                max_retries=settings.max_retries,
            )
        )
        self._now = now
        self.cache = TTLCache(size=settings.cache_size, ttl=settings.cache_ttl)
        self.budget = DailyBudget(settings.budget_usd_per_day, today=today)

    def close(self) -> None:
        """Release the SDK's connections."""
        self._client.close()

    def cost(self, input_tokens: int, output_tokens: int) -> float:
        """US dollars for a request's tokens, at the configured prices."""
        return (
            input_tokens * self.settings.input_usd_per_mtok
            + output_tokens * self.settings.output_usd_per_mtok
        ) / 1_000_000

    def worst_case(self, view: IncidentView) -> float:
        """An upper bound of a request's cost: about three characters a token in, every
        token allowed out."""
        chars = len(SYSTEM) + len(prompt(view))
        return self.cost(chars // 3 + 16, self.settings.max_tokens)

    def analyse(self, view: IncidentView) -> Analysis:
        """The model's view of the incident, or the recorded reason there is none. Never
        raises: failures are part of the answer."""
        settings = self.settings
        base = Analysis(
            provider=settings.provider,
            model=settings.model,
            input_hash=view.input_hash(settings.model),
            at=self._now(),
        )
        cached = self.cache.get(base.input_hash)
        if cached is not None:
            return replace(base, suggestion=cached, cached=True)
        if not self.budget.allows(self.worst_case(view)):
            log.warning(
                "AI analysis skipped: today's budget (%.2f USD) is spent", self.budget.limit
            )
            return replace(base, skipped_reason="budget")
        cost = 0.0
        try:
            answer = ask(
                self._client,
                model=settings.model,
                max_tokens=settings.max_tokens,
                system=SYSTEM,
                text=prompt(view),
                timeout=settings.timeout,
            )
            cost = self.cost(answer.input_tokens, answer.output_tokens)
            self.budget.charge(cost)
            suggestion = parse_answer(answer.text)
        except WhispererError as exc:
            log.warning("AI analysis failed: %s", exc)
            return replace(base, at=self._now(), error=str(exc), cost_usd=cost)
        except Exception as exc:  # a bug in the SDK or here must not reach the caller
            log.exception("AI analysis failed unexpectedly")
            return replace(base, at=self._now(), error=f"unexpected: {exc!r}"[:500], cost_usd=cost)
        self.cache.put(base.input_hash, suggestion)
        return replace(base, at=self._now(), suggestion=suggestion, cost_usd=cost)


def analyser(settings: Settings | None = None) -> Analyst | None:
    """An Analyst for the settings (the environment's by default), or None when analysis is
    not configured: then the rules alone decide."""
    settings = settings if settings is not None else Settings.from_env()
    if not settings.enabled:
        return None
    return Analyst(settings)
