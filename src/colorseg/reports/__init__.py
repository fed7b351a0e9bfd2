"""Reports: evaluate a run → tables (pandas) → plots (matplotlib/seaborn) → self-contained HTML."""

from __future__ import annotations

from pathlib import Path


def make_report(run_dir: str | Path, output: str | Path | None = None) -> Path:
    """Write the HTML report of one run (default ``RUN_DIR/report.html``) and its CSV tables."""
    from colorseg.reports.run_data import load_run

    run = load_run(run_dir)
    output = Path(output) if output else run.run_dir / "report.html"
    if run.task == "segment":
        from colorseg.reports.segment_report import render_segment_report

        return render_segment_report(run, output)
    from colorseg.reports.colorize_report import render_colorize_report

    return render_colorize_report(run, output)


def make_comparison(run_dirs: list[str | Path], output: str | Path) -> Path:
    """Write the comparison HTML of several runs of one task on one test set."""
    from colorseg.reports.compare import check_comparable, render_comparison
    from colorseg.reports.examples import colorize_examples, segment_examples
    from colorseg.reports.run_data import load_run

    runs = [load_run(d) for d in run_dirs]
    check_comparable(runs)
    examples = segment_examples if runs[0].task == "segment" else colorize_examples
    return render_comparison(runs, Path(output), examples)
