"""Remediation's decisions, pure and clock-injected: which runbook fits an incident
(`choice`), who may approve a run (`approval`), what each step of a run decides (`steps`),
what the incident shows of its runs (`report`), and when automatic runs pause (`breaker`).
The I/O (the API server, SSM, Run Command) is `handlers/remediation.py`'s."""

from whisperer.operator.services.remediation.choice import RISK_RANK, RunbookChoice, choose_runbook

__all__ = ["RISK_RANK", "RunbookChoice", "choose_runbook"]
