# The two commands a newcomer needs: `make run` and `make test`.
.PHONY: run test emulator worker bench

run:
	scripts/serve.sh

test:
	scripts/test.sh

emulator:
	scripts/emulator.sh --host 127.0.0.1 --port $${PORT:-8765}

worker:
	scripts/bootstrap.sh && .venv/bin/python manage.py studio_worker

bench:
	scripts/bench.sh
