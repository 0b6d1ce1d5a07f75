"""Notifications: who is told what (recipients), in which words (messages, templates,
payloads), once (the outbox's deterministic keys), and never in the way (retries with
backoff, per-recipient rate limits). The operator's SLA scheduler and handlers call these;
the notify package (and later aws) does the sending."""
