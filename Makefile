# The two commands a newcomer needs: `make run` and `make test`.
.PHONY: run test emulator bench

run: emulator

test:
	scripts/test.sh

emulator:
	scripts/emulator.sh --host 127.0.0.1 --port $${PORT:-8765}

bench:
	scripts/bench.sh
