PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: install test lint bench demo default-policy clean

# Install only when the venv is missing or pyproject.toml changed since the last install.
install: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev,cluster]'
	touch $(STAMP)

test: $(STAMP)
	$(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check .

bench: $(STAMP)
	@for f in benchmarks/[a-z]*.py; do echo "== $$f"; $(BIN)/python $$f || exit 1; done

demo: $(STAMP)
	$(BIN)/esper-tui

# The bundled policy: heuristic behaviour with 30 % random valid actions on the synthetic task
# (episode seeds 100..115, data seed 0), then IQL on it. Fixed seeds; about 15 minutes on 2 CPU cores.
default-policy: $(STAMP)
	mkdir -p build
	rm -f build/default-policy.jsonl
	$(BIN)/esper-iql collect -o build/default-policy.npz --episodes 16 --epochs 25 --epsilon 0.3 \
		--features seed --preset synthetic --seed 100 --data-seed 0 --device cpu \
		--record build/default-policy.jsonl
	$(BIN)/esper-iql train build/default-policy.npz -o esper_tui/assets/default_iql.pt \
		--steps 10000 --hidden 128 --seed 0 --device cpu

clean:
	rm -rf $(VENV) .pytest_cache build *.egg-info
