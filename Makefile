# The few commands people use. `make run` and `make test` each set everything up first.
.PHONY: setup run test lint bench eval

setup:
	bash scripts/setup.sh

run: setup
	bash scripts/run.sh

test: setup
	bash scripts/test.sh

lint:
	.venv/bin/ruff check . && .venv/bin/ruff format --check .

bench: setup
	bash scripts/bench.sh

eval: setup
	.venv/bin/holdspace eval moves && .venv/bin/holdspace eval retrieval
