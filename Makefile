# The README's two commands are `make demo` and `make test`; each installs what it needs.
SHELL := /bin/bash
SWIFT ?= swift
VENV ?= .venv
DEMO_DIR ?= out/churn
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
BIN := .build/release/gitops-ml

.PHONY: demo test deps venv build dist portability image-check format lint benchmark coverage canary clean templates

## Debian packages: libgit2, libcurl and pkg-config (for the build); git, git-lfs, python3 with venv, openssl,
## gnupg and an SSH server (for the tests, which serve repositories over HTTP and SSH on 127.0.0.1, make
## LFS repositories with the real git-lfs and sign with gpg); prometheus for promtool, which checks the
## generated alert rules.
deps:
	@if ! pkg-config --exists libgit2 libcurl 2>/dev/null || ! command -v git >/dev/null || ! command -v openssl >/dev/null \
	    || ! python3 -c 'import venv, ensurepip' 2>/dev/null || ! [ -x /usr/sbin/sshd ] || ! command -v promtool >/dev/null \
	    || ! command -v gpg >/dev/null || ! command -v git-lfs >/dev/null; then \
	  echo "Installing libgit2-dev libcurl4-openssl-dev pkg-config git git-lfs python3-venv openssl openssh-server prometheus gnupg with apt-get"; \
	  $(SUDO) apt-get update -q && $(SUDO) apt-get install -y -q --no-install-recommends \
	    libgit2-dev libcurl4-openssl-dev pkg-config git git-lfs python3 python3-venv openssl ca-certificates \
	    openssh-client openssh-server prometheus gnupg; \
	fi

## Python tools in a local virtual environment (dvc, for the parity tests and benchmarks).
venv: $(VENV)/.installed
$(VENV)/.installed: requirements-dev.txt | deps
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install -q --disable-pip-version-check -r requirements-dev.txt
	touch $@

build: deps
	$(SWIFT) build -c release --product gitops-ml --static-swift-stdlib

## The portable release archive (libgit2 and its libraries linked statically), with completions and the
## man page: dist/gitops-ml-<version>-linux-<arch>.tar.gz and its .sha256.
dist: deps
	bash scripts/dist.sh

## The archive runs on ubuntu-22.04/24.04 runners (allowed libraries, GLIBC_2.35 at most, libcurl functions
## 7.81 exports); and the check can fail: a tarball of the dynamically linked debug binary is refused, and
## one whose binary looks up libcurl 7.86's curl_ws_send.
portability: dist
	bash scripts/check-portability.sh dist/gitops-ml-*-linux-$$(uname -m).tar.gz
	@work=$$(mktemp -d) && mkdir -p $$work/x/bin && cp .build/debug/gitops-ml $$work/x/bin/ \
	  && tar -czf $$work/x.tar.gz -C $$work x && if bash scripts/check-portability.sh $$work/x.tar.gz 2>/dev/null; then \
	  echo "portability: a dynamically linked binary passed" >&2; rm -rf $$work; exit 1; fi; rm -rf $$work; \
	  echo "portability: the dynamically linked debug binary is refused, as it should be"
	@work=$$(mktemp -d) && tar -xzf dist/gitops-ml-*-linux-$$(uname -m).tar.gz -C $$work && name=$$(ls $$work) \
	  && printf '\0curl_ws_send\0' >> $$work/$$name/bin/gitops-ml && tar -czf $$work/ws.tar.gz -C $$work $$name \
	  && if bash scripts/check-portability.sh $$work/ws.tar.gz 2> $$work/err; then \
	  echo "portability: a binary looking up curl_ws_send (libcurl 7.86) passed" >&2; rm -rf $$work; exit 1; fi; \
	  grep -q "looks up curl_ws_send, which ubuntu-22.04's libcurl 7.81 does not export" $$work/err \
	  || { cat $$work/err >&2; rm -rf $$work; exit 1; }; rm -rf $$work; \
	  echo "portability: a binary looking up libcurl 7.86's curl_ws_send is refused, as it should be"

## The image's contents proven without Docker (scripts/image-check.sh): the Dockerfile's runtime packages on a
## debootstrap'd bookworm minbase, the archive's binary run there as UID 10001 (check, and `agent once` on
## the kubernetes target against the API stand-in).
image-check: dist
	bash scripts/image-check.sh

## Materialise the churn example as a git repository and run gitops-ml on its history: the metrics and
## params diffs, then `check` on a better challenger (passes) and a worse one (fails, exit code 1), generate,
## promote and the registry; then the sync agent with the local target (examples/churn/agent-demo.sh).
demo: build
	rm -rf $(DEMO_DIR)
	bash examples/churn/materialize.sh $(DEMO_DIR)
	@echo; echo '$$ gitops-ml diff metrics main challenger/better'
	@cd $(DEMO_DIR) && $(CURDIR)/$(BIN) diff metrics main challenger/better
	@echo; echo '$$ gitops-ml diff params main challenger/better'
	@cd $(DEMO_DIR) && $(CURDIR)/$(BIN) diff params main challenger/better
	@echo; echo '$$ git checkout challenger/better && gitops-ml check'
	@cd $(DEMO_DIR) && git checkout -q challenger/better && $(CURDIR)/$(BIN) check
	@echo; echo '$$ git checkout challenger/worse && gitops-ml check   # exits 1'
	@cd $(DEMO_DIR) && git checkout -q challenger/worse && { $(CURDIR)/$(BIN) check; \
	  status=$$?; echo "exit code: $$status"; [ $$status -eq 1 ]; }
	@cd $(DEMO_DIR) && git checkout -q main
	@echo; echo '$$ gitops-ml generate all   # workflows, manifests, monitoring'
	@cd $(DEMO_DIR) && $(CURDIR)/$(BIN) generate all | tail -n 4 && $(CURDIR)/$(BIN) generate all --check
	@echo; echo '$$ gitops-ml promote churn --to staging --rev challenger/better --push ../gitops.git --registry'
	@rm -rf $(DEMO_DIR)/../gitops.git && git init -q --bare $(DEMO_DIR)/../gitops.git
	@cd $(DEMO_DIR) && $(CURDIR)/$(BIN) promote churn --to staging --rev challenger/better --push ../gitops.git --registry
	@echo; echo '$$ git --git-dir ../gitops.git log -1 gitops   # the promotion commit'
	@git --git-dir $(DEMO_DIR)/../gitops.git log -1 --stat gitops | sed -n '5,30p'
	@echo; echo '$$ gitops-ml registry show'
	@cd $(DEMO_DIR) && $(CURDIR)/$(BIN) registry show
	@echo; echo '--- The sync agent (local target): deploy, roll out on a webhook, roll back with a commit ---'
	@bash examples/churn/agent-demo.sh $(BIN) $(DEMO_DIR)

## The format and workflow checks, then every test (unit, end-to-end, parity with dvc); the test runner's
## summary is the last line.
## Fuzzing: each parser target runs FUZZ_SECONDS under mutation, and a differential corpus with a fresh
## seed is checked against Python's tomllib, json and float(), a CSV corpus against pandas.read_csv,
## random expectations on it against pandas as Great Expectations judges, random pairs of CSV files against
## Evidently's current drift report, and random gate comparisons against scikit-learn, statsmodels and
## scipy (the seeds are printed to reproduce them).
FUZZ_SECONDS ?= 20
test: deps venv
	$(MAKE) lint
	$(VENV)/bin/python Tests/Reference/make_statistics_reference.py --check
	$(VENV)/bin/python Tests/Reference/make_sequential_reference.py --check
	$(VENV)/bin/python Tests/DatasetsTests/Fixtures/make_drift_reference.py --check
	$(VENV)/bin/python Tests/Reference/make_differential_corpus.py --check Tests/FuzzTests/Corpus/differential.json
	$(VENV)/bin/python Tests/Reference/make_pandas_reference.py --check
	mkdir -p .build && $(VENV)/bin/python Tests/Reference/make_differential_corpus.py --seed $$(date +%s) \
	  --count 2000 --out .build/differential.json
	$(VENV)/bin/python Tests/Reference/make_pandas_reference.py --corpus --seed $$(date +%s) --count 1000 \
	  --out .build/pandas_corpus.json
	$(VENV)/bin/python Tests/Reference/make_statistics_reference.py --corpus $$(date +%s) 100 .build/gates_corpus.json
	$(VENV)/bin/python Tests/Reference/make_pandas_reference.py --expectations-corpus --seed $$(date +%s) \
	  --count 300 --out .build/expectations_corpus.json
	$(VENV)/bin/python Tests/Reference/make_pandas_reference.py --evidently-corpus --seed $$(date +%s) --count 15 \
	  --out .build/evidently_corpus.json
	$(SWIFT) build --build-tests --explicit-target-dependency-import-check error
	$(MAKE) portability
	SUDO="$(SUDO)" bash scripts/image-check.sh
	GITOPS_ML_FUZZ_SECONDS=$(FUZZ_SECONDS) GITOPS_ML_DIFFERENTIAL=$(CURDIR)/.build/differential.json \
	  GITOPS_ML_PANDAS_CORPUS=$(CURDIR)/.build/pandas_corpus.json \
	  GITOPS_ML_EVIDENTLY_CORPUS=$(CURDIR)/.build/evidently_corpus.json \
	  GITOPS_ML_GATES_CORPUS=$(CURDIR)/.build/gates_corpus.json \
	  GITOPS_ML_EXPECTATIONS_CORPUS=$(CURDIR)/.build/expectations_corpus.json $(SWIFT) test --skip-build

## Format check of the Swift sources; the embedded templates up to date; the project's own workflows and
## action.yml checked by actionlint and zizmor.
lint: venv
	$(SWIFT) format lint --strict -r Sources Tests Package.swift benchmarks/CoverageSimulation benchmarks/CanarySimulation
	# Every import a target uses is one Package.swift declares (the layout of DESIGN §8, held by the build).
	$(SWIFT) build --build-tests --explicit-target-dependency-import-check error
	python3 scripts/embed-templates.py --check || { echo "templates/ or policies/ changed: run make templates"; exit 1; }
	$(VENV)/bin/actionlint .github/workflows/*.yml
	$(VENV)/bin/zizmor --offline --no-progress .github/workflows action.yml
	$(VENV)/bin/hadolint Dockerfile

## Embed templates/ and policies/ into the binary (BundledTemplates.swift, BundledPolicies.swift).
templates:
	python3 scripts/embed-templates.py

format:
	$(SWIFT) format -i -r Sources Tests Package.swift benchmarks/CoverageSimulation benchmarks/CanarySimulation

## Compare with dvc on generated repositories; see benchmarks/README.md.
benchmark: build venv
	bash benchmarks/run.sh

## Coverage of the gates' intervals by simulation (benchmarks/README.md); REPS replications per n.
REPS ?= 2000
coverage: deps venv
	$(SWIFT) run -c release coverage-simulation $(REPS)
	$(VENV)/bin/python benchmarks/coverage_exact.py
	$(VENV)/bin/python benchmarks/coverage_sparse_losses.py

## Continuously judged canaries against the peers' fixed checks (benchmarks/README.md); CANARIES per cell.
CANARIES ?= 1000
canary: deps
	$(SWIFT) run -c release canary-simulation $(CANARIES)

clean:
	rm -rf .build out $(VENV)
