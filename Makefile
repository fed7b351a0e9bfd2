# The README's two set-up commands: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test test-slow test-browser app-screenshots bench-segment clean

# torch first (the CPU wheel), then the project, so nothing pulls a CUDA build.
$(STAMP): pyproject.toml
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q torch==2.13.0
	$(BIN)/pip install -q -e '.[test]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/colorseg demo --output runs/demo

test: $(STAMP)
	$(BIN)/python -m pytest -q

test-slow: $(STAMP)
	$(BIN)/python -m pytest -q -m slow

# The web app in headless Chromium: the system's chromium and chromedriver (never downloaded).
BROWSER_CHECK = command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 \
	|| command -v google-chrome >/dev/null 2>&1 || { echo "no Chromium found: apt install chromium chromium-driver"; exit 1; }; \
	command -v chromedriver >/dev/null 2>&1 || { echo "no chromedriver found: apt install chromium chromium-driver"; exit 1; }

test-browser: $(STAMP)
	$(BIN)/pip install -q -e '.[test,browser-test]'
	@$(BROWSER_CHECK)
	$(BIN)/python -m pytest -q -m browser tests/app

# docs/app_colorize.png and docs/app_segment.png for the README (trains a small segmenter first).
app-screenshots: $(STAMP)
	$(BIN)/pip install -q -e '.[test,browser-test]'
	@$(BROWSER_CHECK)
	$(BIN)/python scripts/app_screenshots.py

bench-segment: $(STAMP)
	$(BIN)/python benchmarks/segment.py

clean:
	rm -rf $(VENV) runs .pytest_cache
