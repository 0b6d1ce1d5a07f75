"""One router per sender family; `common` holds what they share."""

from whisperer.api.routers import aws, azure, datadog, generic, pagerduty, prometheus, zabbix

ROUTERS = (
    generic.router,
    prometheus.router,
    datadog.router,
    aws.router,
    zabbix.router,
    pagerduty.router,
    azure.router,
)
