.PHONY: setup demo test lint bench clean

setup:
	@bash scripts/setup.sh

demo: setup
	.venv/bin/tinyml-autopilot demo

test: setup
	.venv/bin/python -m pytest -n auto --maxprocesses 4 --dist loadfile --no-loadscope-reorder

lint: setup
	.venv/bin/ruff check src tests benchmarks

bench: setup
	@for b in benchmarks/*.py; do echo "== $$b"; .venv/bin/python $$b || exit 1; done

clean:
	rm -rf runs build *.egg-info .pytest_cache
