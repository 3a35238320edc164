# Everyday commands. `make test` is what CI and the README run; `make test-fast` is the everyday loop.
PY ?= .venv/bin/python

.PHONY: install lint typecheck test-fast test check-outputs

install:                 ## the virtual environment with everything (idempotent)
	bash scripts/install.sh

lint:                    ## ruff (style, imports, bugbear) and mypy (types)
	$(PY) -m ruff check .
	$(PY) -m mypy

typecheck:
	$(PY) -m mypy

test-fast:               ## the everyday loop: no standalone cluster, no slow or end-to-end tests, stop at the first failure
	$(PY) -m pytest -q -x -m "not cluster and not slow and not e2e"

test:                    ## everything: the README's and CI's test command
	$(PY) -m pytest -q

check-outputs:           ## the sample's job outputs against a digest made before a refactoring: make check-outputs BASE=/tmp/base
	$(PY) scripts/output_digest.py run out/digest
	$(PY) scripts/output_digest.py compare $(BASE)/digest.json out/digest/digest.json
