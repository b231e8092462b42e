# srbackup — see README.md. `make test` and `make demo` are the two commands that matter.
SHELL     := /bin/bash
GO        ?= go
NPM_STAMP := _tools/node_modules/.installed
BIN       := _tools/node_modules/.bin
FUNCTIONS := $(notdir $(patsubst %/,%,$(wildcard functions/*/)))
ZIPS      := $(FUNCTIONS:%=_build/lambda/%.zip)
GOTEST_TIMEOUT ?= 40m
# Go build tools are pinned by their own module, _tools/gotools/go.mod (a directory of its own: go mod tidy would read the Go templates npm puts under _tools/node_modules), outside the product's dependency graph.
OAPI_CODEGEN := $(GO) tool -modfile=_tools/gotools/go.mod oapi-codegen
# Test-only packages and libraries that no shipped binary may link.
TEST_ONLY := getkin/kin-openapi|oapi-codegen|srbackup/shared/api/apitest|srbackup/shared/api/apiclient|srbackup/localstack/localtest|srbackup/localstack/mariadb/mariadbtest

# Quiet, offline CDK CLI.
export CDK_DISABLE_CLI_TELEMETRY := 1
export CDK_DISABLE_VERSION_CHECK := 1
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20
export JSII_SILENCE_WARNING_UNTESTED_NODE_VERSION := 1

.PHONY: help test demo build synth lint tools check-mariadb validate-asl validate-cfn bench test-localstack clean

help:
	@echo "make test   - all tests: unit, e2e over the local AWS stack + a throwaway MariaDB, ASL/CDK checks"
	@echo "make demo   - a real BACKUP end to end on a sample database, then SHOW BACKUP / SHOW SNAPSHOT"
	@echo "make build  - reproducible arm64 Lambda zips in _build/lambda"
	@echo "make synth  - cdk synth (offline, CloudFormation validation on)"
	@echo "make lint   - gofmt, go vet, go.mod tidy, no test machinery in shipped binaries, the OpenAPI document"
	@echo "make bench  - benchmarks against mydumper and mariadb-dump (SIZE=256MB|1GB|4GB)"

# npm tools, pinned by _tools/package-lock.json, installed into _tools/node_modules (Go ignores _tools).
# `npm ci` rejects npm 11's own lockfile for DuckDB's per-platform optional packages; `npm install`
# honours the lockfile in the same way for what it installs.
tools: $(NPM_STAMP)
$(NPM_STAMP): _tools/package.json _tools/package-lock.json
	cd _tools && npm install --no-save --no-audit --no-fund --loglevel=error
	touch $@

# The tests and the demo start their own MariaDB from the machine's binaries.
check-mariadb:
	@command -v mariadbd >/dev/null 2>&1 || test -x /usr/sbin/mariadbd || { \
	  echo "MariaDB server binaries not found: install them with 'sudo apt-get install mariadb-server'" \
	       "(the tests start their own throwaway server; nothing needs to be running)"; exit 1; }
	@command -v mariadb-install-db >/dev/null 2>&1 || { echo "mariadb-install-db not found: 'sudo apt-get install mariadb-server'"; exit 1; }

build: $(ZIPS)
_build/lambda/%.zip: FORCE
	@mkdir -p _build/lambda/$*
	GOOS=linux GOARCH=arm64 CGO_ENABLED=0 $(GO) build -trimpath -tags lambda.norpc -ldflags='-s -w -buildid=' \
	  -o _build/lambda/$*/bootstrap ./functions/$*
	$(GO) run ./infra/lambdazip _build/lambda/$*/bootstrap $@
FORCE:

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	@$(GO) mod tidy -diff >/dev/null 2>&1 || { echo "go.mod/go.sum are not tidy: run 'go mod tidy'"; $(GO) mod tidy -diff; exit 1; }
	@# No test machinery in shipped binaries: the Lambdas link neither testing nor the
	@# in-process emulators, the CLI (which serves `local up` with the emulators) not testing.
	@bad=$$($(GO) list -deps ./functions/... | grep -E '^testing$$|johannesboyne/gofakes3|truora/minidyn|$(TEST_ONLY)'); \
	  if [ -n "$$bad" ]; then echo "./functions/... link test machinery:"; echo "$$bad"; exit 1; fi
	@bad=$$($(GO) list -deps ./cmd/... | grep -E '^testing$$|$(TEST_ONLY)'); \
	  if [ -n "$$bad" ]; then echo "./cmd/... link test machinery (move it to a test-only package such as localstack/localtest):"; echo "$$bad"; exit 1; fi
	@# The OpenAPI document is valid and served as it is; the client generated from it is up to date.
	$(GO) test -count=1 -run '^(TestOpenAPIDocumentIsValid|TestServedOpenAPIIsTheFile)$$' ./shared/api
	@(cd _tools/gotools && $(GO) mod tidy -diff >/dev/null 2>&1) || { echo "_tools/gotools/go.mod is not tidy: run 'cd _tools/gotools && go mod tidy'"; exit 1; }
	@tmp=$$(mktemp -d); trap 'rm -rf "$$tmp"' EXIT; \
	  $(OAPI_CODEGEN) -config shared/api/apiclient/oapi-codegen.yaml -o "$$tmp/gen.go" shared/api/openapi.yaml || exit 1; \
	  cmp -s "$$tmp/gen.go" shared/api/apiclient/apiclient.gen.go || { \
	    echo "shared/api/apiclient/apiclient.gen.go is not what openapi.yaml generates: run 'go generate ./shared/api/apiclient'"; exit 1; }

validate-asl: tools
	@for f in statemachine/*.asl.json localstack/testdata/*.asl.json; do \
	  $(BIN)/asl-validator --json-path "$$f" >/dev/null || { echo "asl-validator: $$f is invalid"; $(BIN)/asl-validator --json-path "$$f"; exit 1; }; \
	done; echo "asl-validator: statemachine/*.asl.json OK"

# Offline synth with the CDK's CloudFormation validation on (cdk.json's
# @aws-cdk/core:validateAgainstDefaultRules turns findings into errors), then the standalone engine.
synth: tools build
	$(BIN)/cdk synth -q
	node infra/validate/cfn-validate.js --strict cdk.out/*.template.json

validate-cfn: synth

test: tools check-mariadb lint validate-asl build
	$(GO) test -count=1 -timeout $(GOTEST_TIMEOUT) ./...
	# The benchmark harness at 10 MB, once, so it cannot rot.
	$(GO) test -count=1 -run '^$$' -bench BenchmarkHarnessSmoke -benchtime 1x ./tests/bench

# srbackup against mydumper, mariadb-dump | zstd and a raw scan (SIZE=256MB|1GB|4GB, RUNS=3);
# writes tests/bench/REPORT.md and bench.png. BENCHFLAGS='-scaling also' adds the scaling runs,
# BENCHFLAGS=-timeline a traced backup and restore per parallelism (where the wall time and CPU go).
bench: tools check-mariadb
	$(GO) run ./tests/bench/cmd/srbench -size "$(or $(SIZE),256MB)" -runs "$(or $(RUNS),3)" -report tests/bench $(BENCHFLAGS)

demo: tools check-mariadb
	$(GO) run ./cmd/srbackup demo

# Needs Docker (not available on this project's development machines; kept small and standard).
# SRBACKUP_LOCALSTACK_DB names a database on the source server (SRBACKUP_SOURCE_DSN in the compose file).
test-localstack: build
	docker compose -f localstack/docker-compose.yml up -d --wait
	AWS_ENDPOINT_URL=http://127.0.0.1:4566 AWS_REGION=us-east-1 AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test \
	  SRBACKUP_LOCALSTACK_DB=$${SRBACKUP_LOCALSTACK_DB:-shop} \
	  $(GO) test -count=1 -tags localstack -run TestLocalStackBackup ./tests/e2e; \
	  status=$$?; docker compose -f localstack/docker-compose.yml down; exit $$status

clean:
	rm -rf _build cdk.out
