"""benchmarks/speed.py on tiny models: the tables have their rows and columns, the JSON its
figures. No timing is asserted: this checks the benchmark runs, not how fast anything is."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

pytest.importorskip("torch", reason="the 'local' extra is not installed")
pytest.importorskip("diffusers", reason="the 'local' extra is not installed")


def _table(text: str, title_start: str) -> list[list[str]]:
    """The rows (header first) of the plain table whose title starts with `title_start`."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(title_start))
    rows = []
    for line in lines[start + 2:]:
        if not line.startswith("|"):
            break
        if not line.startswith("|-"):
            rows.append([cell.strip() for cell in line.strip("|").split("|")])
    return rows


@pytest.mark.slow  # about 5 s on a 2-core CPU, most of it building and running tiny SD twice
def test_tiny_cpu_run_prints_one_row_per_profile_with_every_column(capsys, tmp_path: Path):
    from benchmarks.speed import MAIN_COLUMNS, main

    out_json = tmp_path / "speed.json"
    main(["--device", "cpu", "--tiny", "--models", "sd15", "--profiles", "plain,exact",
          "--steps", "2", "--plain", "--json", str(out_json)])
    text = capsys.readouterr().out

    assert "Studio speed benchmark" in text
    assert "torch " in text and "diffusers " in text and "CPU: " in text
    header, *rows = _table(text, "SD 1.5 · 64×64 · 2 steps")
    assert tuple(header) == MAIN_COLUMNS
    assert [row[0] for row in rows] == ["plain", "exact"]
    for row in rows:
        assert len(row) == len(MAIN_COLUMNS)
        assert row[1] == "float32"
        assert all(cell and cell != "failed" for cell in row)
    assert rows[0][MAIN_COLUMNS.index("×plain e2e")] == "1.00×"
    assert "preview cost (exact, latent_preview every step)" in text
    assert "Live preview readiness" not in text  # SD 1.5 has no 1-4 step stand-in

    report = json.loads(out_json.read_text(encoding="utf-8"))
    assert report["hardware"]["device"] == "cpu" and report["tiny"] is True
    plain, exact = report["models"]["sd15"]
    assert (plain["profile"], exact["profile"]) == ("plain", "exact")
    for result in (plain, exact):
        assert result["error"] is None
        assert result["e2e_s"] > 0 and result["step_s"] > 0 and result["peak_bytes"] > 0
        assert result["callbacks"] >= 2
    assert exact["preview_step_s"] > 0 and plain["psnr_vs_exact"] is not None


def test_unknown_profile_is_refused(capsys):
    from benchmarks.speed import main

    with pytest.raises(SystemExit):
        main(["--device", "cpu", "--tiny", "--profiles", "plain,turbo"])
    assert "unknown profile turbo" in capsys.readouterr().err
