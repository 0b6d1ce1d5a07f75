# The two commands of the README. Each installs what it needs (.venv, the control plane).
.PHONY: run test crds manifests lint

run:  ## run the system locally (control plane, example config, webhook, operator, moto, mail sink, demo scenario)
	hack/run

test:  ## lint, type check, import contract, CRD drift, control plane, pytest
	hack/test

crds:  ## regenerate crds/ and charts/alert-whisperer/crds/ from the models
	PYTHONSAFEPATH=1 .venv/bin/python -m whisperer.operator.models.crdgen

manifests:  ## render manifests/install/ from the Helm chart
	hack/render-install
