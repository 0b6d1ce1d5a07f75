# The two commands of the README. Each installs what it needs (.venv, the control plane).
.PHONY: run test crds lint

run:  ## run the system locally (control plane, example config, webhook, operator)
	hack/run

test:  ## lint, type check, import contract, CRD drift, control plane, pytest
	hack/test

crds:  ## regenerate crds/ from the models
	PYTHONSAFEPATH=1 .venv/bin/python -m whisperer.operator.models.crdgen
