"""The integration snippet for each monitoring tool: what a client pastes where, for the
company's webhook URL and key. docs/integrations/<tool>.md says the same, step by step."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit


@dataclass(frozen=True)
class Snippet:
    title: str
    render: Callable[[str, str], str]
    """(base URL ending in /v1/alerts, API key) -> the text to paste."""


def _alertmanager(url: str, key: str) -> str:
    return f"""# alertmanager.yml
receivers:
  - name: alert-whisperer
    webhook_configs:
      - url: {url}/alertmanager
        send_resolved: true
        http_config:
          authorization:
            type: Bearer
            credentials: {key}
route:
  receiver: alert-whisperer"""


def _grafana(url: str, key: str) -> str:
    return f"""# Alerting > Contact points > New contact point > Integration: Webhook
URL:                      {url}/grafana
HTTP method:              POST
Authorization header:     Bearer {key}
# or, provisioned (grafana/provisioning/alerting/whisperer.yaml):
apiVersion: 1
contactPoints:
  - orgId: 1
    name: alert-whisperer
    receivers:
      - uid: alert-whisperer
        type: webhook
        settings:
          url: {url}/grafana
          authorization_scheme: Bearer
          authorization_credentials: {key}"""


def _datadog(url: str, key: str) -> str:
    return f"""# Integrations > Webhooks > New webhook
Name:            alert-whisperer
URL:             {url}/datadog
Custom headers:  {{"X-API-Key": "{key}"}}
Payload:         (leave the default payload)
# then mention @webhook-alert-whisperer in each monitor's message"""


def _cloudwatch(url: str, key: str) -> str:
    return f"""# CloudWatch alarm -> SNS topic -> HTTPS subscription (confirmed automatically)
aws sns subscribe --topic-arn arn:aws:sns:REGION:ACCOUNT:TOPIC \\
  --protocol https \\
  --notification-endpoint '{url}/sns?api_key={key}'
aws sns set-topic-attributes --topic-arn arn:aws:sns:REGION:ACCOUNT:TOPIC \\
  --attribute-name SignatureVersion --attribute-value 2"""


def _zabbix(url: str, key: str) -> str:
    return f"""# Alerts > Media types > Create media type > Type: Webhook
Parameters:
  URL       {url}/zabbix
  api_key   {key}
  eventid   {{EVENT.ID}}
  host      {{HOST.NAME}}
  severity  {{EVENT.NSEVERITY}}
  status    {{EVENT.VALUE}}
  update    {{EVENT.UPDATE.STATUS}}
  subject   {{EVENT.NAME}}
  message   {{ALERT.MESSAGE}}
Script:  post the parameters (not URL and api_key) as JSON to URL,
         with the header "X-API-Key: " + api_key"""


def _azure(url: str, key: str) -> str:
    parts = urlsplit(url)
    with_key = urlunsplit((parts.scheme, f"whisperer:{key}@{parts.netloc}", parts.path, "", ""))
    return f"""# Monitor > Alerts > Action groups > Create > Actions > Webhook
URI:                        {with_key}/azure
Enable the common alert schema: Yes"""


def _pagerduty(url: str, key: str) -> str:
    return f"""# Any PagerDuty Events v2 sender (Alertmanager pagerduty_configs, Grafana, Zabbix...)
Events API URL:   {url}/pagerduty/v2/enqueue
Integration key:  {key}    (routing_key)
# Alertmanager:
receivers:
  - name: alert-whisperer-pd
    pagerduty_configs:
      - url: {url}/pagerduty/v2/enqueue
        routing_key: {key}"""


SNIPPETS: dict[str, Snippet] = {
    "alertmanager": Snippet("Prometheus Alertmanager", _alertmanager),
    "grafana": Snippet("Grafana Alerting", _grafana),
    "datadog": Snippet("Datadog", _datadog),
    "cloudwatch": Snippet("Amazon CloudWatch via SNS", _cloudwatch),
    "zabbix": Snippet("Zabbix", _zabbix),
    "azure-monitor": Snippet("Azure Monitor", _azure),
    "pagerduty": Snippet("PagerDuty-compatible (Events v2)", _pagerduty),
}


def snippet(tool: str, url: str, key: str) -> str:
    """The snippet for `tool` with the company's URL (…/v1/alerts) and key."""
    return SNIPPETS[tool].render(url.rstrip("/"), key)
