# patrol: the two entry points are `make demo` and `make test`; both set up what they need.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# Debian packages patrol needs at run time: espeak-ng for the spoken warnings (pyttsx3 drives it),
# chromium for the map checks. Installed when missing and we are root (CI is); otherwise say what to do.
DEBS := espeak-ng libespeak-ng1 chromium

.PHONY: demo test setup lint bench clean

$(STAMP): pyproject.toml
	@missing=$$(for p in $(DEBS); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		if [ "$$(id -u)" = 0 ]; then \
			echo "installing Debian packages: $$missing"; \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
		else echo "patrol needs the Debian packages: $$missing (sudo apt-get install $$missing)"; exit 1; fi; \
	fi
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

setup: $(STAMP)

demo: $(STAMP)
	$(BIN)/patrol plan geofences/sample_district.geojson --buildings geofences/sample_buildings.geojson \
		-o missions/sample_district --force

lint: $(STAMP)
	$(BIN)/ruff check .

test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/pytest -q

bench: $(STAMP)
	$(BIN)/python benchmarks/bench_sweep.py
	$(BIN)/python benchmarks/bench_audit.py
	$(BIN)/python benchmarks/bench_upload.py

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis
