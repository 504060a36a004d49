"""`make bench` runs every bench and only benches; each exits with its targets' verdict and has
its section in bench/README.md (the benches themselves are run by hand: they take minutes)."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _make_bench_scripts() -> list[str]:
    dry = subprocess.run(
        ["make", "-n", "bench"],  # noqa: S607
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    match = re.search(r"for script in ([^;]+); do", dry)
    assert match, dry
    return sorted(match.group(1).split())


def _benches() -> list[str]:
    return sorted(
        f"bench/{p.name}"
        for p in (ROOT / "bench").glob("*.py")
        if "raise SystemExit(main())" in p.read_text() or "sys.exit(main())" in p.read_text()
    )


def test_make_bench_runs_every_bench_and_nothing_else() -> None:
    assert _make_bench_scripts() == _benches()
    assert "bench/lever_pacing.py" in _benches()


def test_every_bench_exits_with_its_verdict_and_is_described() -> None:
    docs = "".join(p.read_text() for p in [ROOT / "bench" / "README.md", *ROOT.glob("docs/*.md")])
    for bench in _benches():
        source = (ROOT / bench).read_text()
        assert re.search(r"return (0 if .+ else 1|1 if .+ else 0)", source), bench
        assert bench in docs, f"{bench} is described nowhere (bench/README.md, docs/)"
