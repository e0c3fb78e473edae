# dmemfs.fleet — developer entry points. `make help` lists them.
SHELL := /bin/bash
PYTHON ?= python3
VENV := $(CURDIR)/.venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# The collection as Ansible expects to find it: ansible_collections/NS/NAME.
STAGE := $(CURDIR)/build/collections
COLL := $(STAGE)/ansible_collections/dmemfs/fleet
ANSIBLE_TEST_PIP := $(HOME)/.ansible/test/cache/get_pip_24_2.py
export PATH := $(BIN):$(PATH)

.PHONY: help deps venv stage lint sanity units pytest build check test demo kernel-test bench-memmap molecule fleet-down clean

help:
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/'

deps: ## install the Debian packages (apt) the project needs
	bash tools/install-deps.sh

$(STAMP): requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -r requirements-dev.txt
	touch $@

venv: $(STAMP) ## create .venv with the pinned tools

stage: venv ## copy the working tree to build/collections/ansible_collections/dmemfs/fleet
	# a fresh copy each time: nothing stale (deleted files, tool caches) survives
	rm -rf $(COLL)
	mkdir -p $(COLL)
	git ls-files -z --cached --others --exclude-standard | rsync -a --from0 --files-from=- ./ $(COLL)/
	# ansible-test lists files with git: give the copy its own repository
	cd $(COLL) && git init -q && git add -A

lint: stage ## ansible-lint, production profile
	cd $(COLL) && ANSIBLE_COLLECTIONS_PATH=$(STAGE) ansible-lint --profile production --offline

$(ANSIBLE_TEST_PIP): tests/tools/get_pip_from_pypi.py
	mkdir -p $(dir $@)
	cp $< $@

sanity: stage $(ANSIBLE_TEST_PIP) ## ansible-test sanity
	cd $(COLL) && ansible-test sanity --venv --python 3.11 --color no

units: stage $(ANSIBLE_TEST_PIP) ## ansible-test units
	cd $(COLL) && ansible-test units --venv --python 3.11 --color no

PYTEST_ARGS ?=
pytest: stage ## pytest: modules and filters run by ansible-playbook, tools (PYTEST_ARGS: e.g. -k NAME)
	cd $(COLL) && ANSIBLE_COLLECTIONS_PATH=$(STAGE) pytest -p no:cacheprovider -q tests/playbooks $(PYTEST_ARGS)

build: stage ## ansible-galaxy collection build + install + ansible-doc of every module
	bash tests/tools/build-install-doc.sh $(COLL) $(CURDIR)/build

check: stage ## fast inner loop: unit tests and lint
	cd $(COLL) && PYTHONPATH=$(STAGE) pytest -p no:cacheprovider -q tests/unit
	$(MAKE) lint

kernel-test: deps ## build the dmemfs kernel (cached) and run its tests in QEMU
	bash kernel/tests/run

bench-memmap: deps ## memory map spent on 2 GiB of guest memory: dmemfs, HugeTLB 2M/1G with HVO, plain RAM
	bash kernel/tests/bench-memmap 2048

molecule: deps stage ## Molecule on the local QEMU fleet: the harness, the whole pipeline, then every fault injection (a-h) on its VMs
	rm -f build/molecule-pipeline-ansible.log
	ANSIBLE_COLLECTIONS_PATH=$(STAGE) bash tools/molecule-parallel.sh pipeline
	# wall time of each play (stage) of every ansible-playbook run of the scenario
	$(BIN)/python tools/stage-times.py build/molecule-pipeline-ansible.log

test: deps venv ## everything CI runs: lint sanity units build, with the kernel and VM image built meanwhile, then kernel-test pytest molecule
	bash tools/test-all.sh

REPORT := $(CURDIR)/build/report

demo: deps stage ## start the local QEMU fleet, run site.yml on it, print the report's summary and path
	bash tools/vm/local-fleet.sh up
	rm -f build/demo-site.log
	cd $(COLL) && ANSIBLE_LOG_PATH=$(CURDIR)/build/demo-site.log ANSIBLE_COLLECTIONS_PATH=$(STAGE) \
		ansible-playbook -i $(CURDIR)/inventories/local/hosts.yml playbooks/site.yml -e dmem_serial=2 -e dmem_report_dir=$(REPORT)
	@$(BIN)/python tools/stage-times.py build/demo-site.log
	@$(BIN)/python -c 'import json; print(json.load(open("$(REPORT)/fleet.json"))["fleet"]["summary"])'
	@echo "report: $(REPORT)/index.html ($(REPORT)/fleet.json)"
	@echo "the fleet keeps running: 'make fleet-down' stops it"

fleet-down: ## stop the local QEMU fleet of 'make demo'
	bash tools/vm/local-fleet.sh down

clean:
	rm -rf build tests/output
