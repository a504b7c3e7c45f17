"""`make bench` (scripts/bench.sh) runs every benchmark in bench/ and nothing else: it runs the
scripts with a `__main__` block, so each benchmark needs one and a helper module the benchmarks
import must not have one (bench/live.py, run as a script, failed `make bench`)."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
MAIN_GUARD = 'if __name__ == "__main__":'  # what scripts/bench.sh looks for, at the start of a line


def _modules() -> dict[str, str]:
    return {path.stem: path.read_text() for path in sorted((ROOT / "bench").glob("*.py")) if path.stem != "__init__"}


def test_bench_sh_picks_scripts_by_their_main_guard() -> None:
    assert f"grep -q '^{MAIN_GUARD}'" in (ROOT / "scripts" / "bench.sh").read_text()


def test_every_benchmark_has_a_main_guard_and_no_helper_has_one() -> None:
    modules = _modules()
    imported = {
        name
        for source in modules.values()
        for name in re.findall(r"^from bench\.(\w+) import", source, flags=re.MULTILINE)
    }
    assert imported, "the benchmarks share a helper module"
    for name, source in modules.items():
        runs = re.search(rf"^{re.escape(MAIN_GUARD)}", source, flags=re.MULTILINE) is not None
        if name in imported:
            assert not runs, f"bench/{name}.py is a helper the benchmarks import: make bench must not run it"
        else:
            assert runs, f"bench/{name}.py has no {MAIN_GUARD} block: make bench would skip it"
