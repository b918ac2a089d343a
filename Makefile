# Entry points, each doing its own set-up on a fresh machine:
#   make demo   train on the built-in US macro data and write sknet-output/
#   make test   lint, format check, the documentation build and the test suite
#   make docs   build the documentation site into site/
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# The CPU build of torch is installed first: letting pip choose torch by itself
# would fetch a multi-gigabyte CUDA build. Elsewhere, point this at
# "torch==2.13.0 --index-url https://download.pytorch.org/whl/cpu".
TORCH_SPEC ?= torch==2.13.0

.PHONY: setup demo test docs

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet $(TORCH_SPEC)
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@

demo: setup
	$(BIN)/sknet fit --out sknet-output

test: setup
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .
	$(MAKE) docs
	$(BIN)/python -m pytest

# --strict turns every warning into an error, and building runs every example
# on the pages. NO_MKDOCS_2_WARNING hides a notice that the Material theme
# prints about future MkDocs versions.
docs: setup
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --site-dir site
