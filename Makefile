# Rideshare Streams. The two commands: `make demo` (run the platform) and `make test` (whole suite).
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
RIDESHARE := $(VENV)/bin/rideshare
DURATION ?=
export GX_ANALYTICS_ENABLED := false
export DBT_SEND_ANONYMOUS_USAGE_STATS := False
export AIRFLOW__CORE__LOAD_EXAMPLES := False

.PHONY: demo test bench bench-peers soak setup setup-system setup-python setup-frontend setup-lake lint lock clean

demo: setup
	$(RIDESHARE) demo $(if $(DURATION),--duration $(DURATION),)

# The suite runs as two pytest sessions side by side on the services this starts: the offline tests (lake, Spark,
# Airflow, calibration, unit; CPU-bound, no Kafka or Redis) at a lower priority beside the Kafka tests, which spend
# most of their time waiting on brokers and workers and so keep the CPU whenever they need it. The offline
# session's report is printed after the Kafka session's (it is written to .local/offline-tests.log meanwhile).
OFFLINE_TESTS := tests/unit tests/integration/test_calibration.py tests/integration/test_lakehouse_spark.py \
  tests/integration/test_lakehouse_airflow.py tests/integration/test_lakehouse_build.py \
  tests/integration/test_lakehouse_s3.py tests/integration/test_lakehouse_quality.py
test: setup setup-browser setup-lake
	@$(RIDESHARE) infra up && { mkdir -p .local; \
	  nice -n 10 $(PY) -m pytest -p no:cacheprovider $(OFFLINE_TESTS) $(PYTEST_ARGS) > .local/offline-tests.log 2>&1 & offline=$$!; \
	  trap 'kill $$offline 2>/dev/null' INT TERM; \
	  RIDESHARE_TESTS_DELETE_TOPICS=1 $(PY) -m pytest tests $(addprefix --ignore=,$(OFFLINE_TESTS)) $(PYTEST_ARGS); status=$$?; \
	  wait $$offline || status=1; echo "== the offline tests, run alongside (.local/offline-tests.log):"; \
	  cat .local/offline-tests.log; \
	  (cd frontend && npx vitest run) || status=1; \
	  $(RIDESHARE) infra down; exit $$status; }

# Benchmarks run as modules from the project root, so bench/lakehouse.py cannot shadow the lakehouse package.
BENCHES ?= sim_throughput topologies latency lockstep lakehouse report_bench calibration
bench: setup setup-lake bench-peers
	@$(RIDESHARE) infra up && { status=0; for b in $(BENCHES); do echo "== bench/$$b.py"; \
	  $(PY) -m bench.$$b || status=1; done; $(RIDESHARE) infra down; exit $$status; }

# 30 minutes at 5x the demo's event rate through the real workers and the API (outside `make test` and `make bench`):
# memory of every process flat, lag bounded, nothing lost. `make soak MINUTES=10` for a shorter run, SOAK_ARGS for the
# other options (python -m bench.soak --help). It starts Kafka and Redis if they are down and stops what it started.
MINUTES ?=
SOAK_ARGS ?=
soak: setup
	$(PY) -m bench.soak $(if $(MINUTES),--minutes $(MINUTES),) $(SOAK_ARGS)

# The peer frameworks the benchmarks compare with, each in its own environment (Quix Streams pins its own
# confluent-kafka): only `make bench` needs them.
QUIX_VENV := .local/bench/quix-venv
bench-peers: $(QUIX_VENV)/.installed
$(QUIX_VENV)/.installed: bench/peers/requirements-quix.txt
	@command -v uv >/dev/null || python3 -m pip install --quiet uv
	@test -x $(QUIX_VENV)/bin/python || uv venv --quiet --python 3.11 $(QUIX_VENV)
	uv pip install --quiet --python $(QUIX_VENV)/bin/python -r bench/peers/requirements-quix.txt
	@touch $@

setup: setup-system setup-python setup-frontend

# Debian packages the launcher needs (root on this machine; elsewhere run with sudo).
setup-system:
	@command -v redis-server >/dev/null || { apt-get update -qq && apt-get install -y -qq redis-server >/dev/null; }
	@command -v java >/dev/null || { apt-get update -qq && apt-get install -y -qq openjdk-17-jre-headless >/dev/null; }
	@command -v mvn >/dev/null || { apt-get update -qq && apt-get install -y -qq maven >/dev/null; }

# The lakehouse's Java pieces, from Maven Central into the ignored .local/ at install time: the Delta jars
# for the Spark engine (Ivy cache, resolved by starting one session) and S3Proxy, the S3-compatible
# server the s3:// lake tests run against.
S3PROXY_VERSION := 2.6.0
S3PROXY_JAR := .local/s3proxy/s3proxy-$(S3PROXY_VERSION)-jar-with-dependencies.jar
setup-lake: setup-python $(S3PROXY_JAR) .local/ivy/.resolved
$(S3PROXY_JAR):
	mvn -q -B dependency:copy -Dartifact=org.gaul:s3proxy:$(S3PROXY_VERSION):jar:jar-with-dependencies \
	  -DoutputDirectory=.local/s3proxy -Dmaven.repo.local=.local/m2
.local/ivy/.resolved: requirements.lock
	$(PY) -m lakehouse.spark_session
	@touch $@

setup-browser:
	@command -v chromium >/dev/null || { apt-get update -qq && apt-get install -y -qq chromium >/dev/null; }

# The venv is rebuilt from the lock only when the lock changes (the stamp file).
setup-python: $(VENV)/.installed
$(VENV)/.installed: requirements.lock pyproject.toml
	@command -v uv >/dev/null || python3 -m pip install --quiet uv
	@test -x $(PY) || uv venv --quiet --python 3.11 $(VENV)
	uv pip sync --quiet --python $(PY) requirements.lock
	uv pip install --quiet --python $(PY) --no-deps -e .
	@touch $@

# The UI is rebuilt whenever one of its sources changed since the last build.
setup-frontend: frontend/dist/index.html
frontend/node_modules/.installed: frontend/package-lock.json
	cd frontend && npm ci --no-audit --no-fund --loglevel=error
	@touch $@
frontend/dist/index.html: frontend/node_modules/.installed $(shell find frontend/src frontend/public -type f 2>/dev/null) \
		frontend/index.html frontend/vite.config.ts frontend/tsconfig.json frontend/package.json
	cd frontend && npm run build --silent

lint: setup-python
	$(VENV)/bin/ruff check .

lock:
	uv pip compile requirements.in --python-version 3.11 -o requirements.lock

clean:
	-$(RIDESHARE) infra down
	rm -rf .local $(VENV) frontend/node_modules frontend/dist
