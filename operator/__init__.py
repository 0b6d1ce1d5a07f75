"""The Alert Whisperer operator: models, domain services, Kubernetes I/O and Kopf handlers."""
