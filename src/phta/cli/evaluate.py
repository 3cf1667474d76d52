"""``phta evaluate metrics``: evaluation statistics on an already-linked scored file.

For analysts inside the trusted environment; the in-node evaluation of a project through the
execution path is separate work. Thin: read, compute, print.
"""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from phta.evaluation._arrays import EvaluationError
from phta.evaluation.metrics_file import ScoredFileError, metrics, read_scored_file

app = typer.Typer(no_args_is_help=True, add_completion=False)


@app.callback()
def evaluate_group() -> None:
    """Real-world evaluation of diagnostics and AI models."""


@app.command("metrics")
def metrics_command(
    file: Path = typer.Argument(..., help="CSV with one row per person: score(s), outcome (0/1), optional group."),
    score: str = typer.Option(..., "--score", help="Column holding the score or predicted probability."),
    outcome: str = typer.Option(..., "--outcome", help="Column holding the outcome, 0 or 1."),
    compare: str | None = typer.Option(None, "--compare", help="A second score on the same patients (DeLong paired test)."),
    group: str | None = typer.Option(None, "--group", help="Column whose values define subgroups."),
    id_column: str | None = typer.Option(None, "--id", help="Person key column: refuses the file if a key repeats."),
    threshold: list[float] = typer.Option([], "--threshold", help="Threshold for the 2x2 table (repeatable)."),
    net_benefit: list[float] = typer.Option([], "--net-benefit", help="Threshold probability for net benefit (repeatable)."),
    as_json: bool = typer.Option(False, "--json", help="Print the documented JSON instead of a table."),
) -> None:
    """AUROC (DeLong), accuracy at thresholds, calibration, subgroups and net benefit of a scored file."""
    try:
        data = read_scored_file(file, score=score, outcome=outcome, compare=compare, group=group,
                                id_column=id_column)
        result = metrics(data, thresholds=threshold, net_benefit_thresholds=net_benefit)
    except (ScoredFileError, EvaluationError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    if as_json:
        typer.echo(json.dumps(result, indent=2))
        return
    console = Console()
    a = result["auroc"]
    console.print(f"n={result['n']} events={result['events']} AUROC {a['estimate']:.3f} "
                  f"(95% CI {a['ci95'][0]:.3f}-{a['ci95'][1]:.3f}, DeLong SE {a['se']:.4f})")
    if result["thresholds"]:
        table = Table("threshold", "TP", "FP", "FN", "TN", "sensitivity", "specificity")
        for t, row in result["thresholds"].items():
            table.add_row(t, *(str(row[k]) for k in ("tp", "fp", "fn", "tn")),
                          *(_fmt(row[k]) for k in ("sensitivity", "specificity")))
        console.print(table)
    if result["calibration"]:
        c = result["calibration"]
        console.print(f"calibration: slope {c['slope']:.3f}, CITL {c['citl']:.3f}, "
                      f"O/E {c['o_e']:.3f}, Brier {c['brier']:.4f}")


def _fmt(p: dict) -> str:
    if p["estimate"] is None:
        return "-"
    lo, hi = p["wilson"]
    return f"{p['estimate']:.3f} ({lo:.3f}-{hi:.3f})"


@app.command("report")
def report_command(
    file: Path | None = typer.Argument(None, help="Linked CSV, one row per person (omit with --synthetic)."),
    protocol: Path = typer.Option(..., "--protocol", help="Pre-registered protocol (YAML or JSON); frozen and hashed first."),
    out: Path = typer.Option(..., "--out", help="Directory for evaluation-report.html, .json and .pdf."),
    score: str = typer.Option("score", "--score", help="Column holding the predicted probability."),
    outcome: str = typer.Option("outcome", "--outcome", help="Column holding the outcome, 0 or 1."),
    group: list[str] = typer.Option([], "--group", help="Column naming a subgroup the protocol refers to (repeatable)."),
    period: str | None = typer.Option(None, "--period", help="Column holding the period (e.g. 2025Q1) for drift."),
    version: str | None = typer.Option(None, "--version", help="Column holding the model version."),
    id_column: str | None = typer.Option(None, "--id", help="Person key column: refuses the file if a key repeats."),
    policy: str = typer.Option("default", "--policy", help="Disclosure policy: a built-in name or a YAML/JSON file."),
    synthetic: int = typer.Option(0, "--synthetic", help="Evaluate the demo's synthetic T2D risk model on this many people instead of FILE."),
) -> None:
    """Full evaluation report under a frozen protocol, every table disclosure-controlled."""
    from phta.disclosure import PolicyError, load_policy
    from phta.evaluation.evaluate import EvaluationData, run_evaluation
    from phta.evaluation.protocol import load_protocol
    from phta.evaluation.report import build_report
    from phta.evaluation.synthetic import diabetes_population

    try:
        frozen = load_protocol(protocol)
        typer.echo(f"protocol frozen: sha256 {frozen.sha256}")
        applied = load_policy(policy)
        if synthetic:
            data = diabetes_population(synthetic)
        elif file is None:
            raise EvaluationError("give a FILE, or --synthetic N for the demo population")
        else:
            labels = [*group, *(c for c in (period, version) if c)]
            scored = read_scored_file(file, score=score, outcome=outcome, id_column=id_column, label_columns=labels)
            data = EvaluationData(score=scored.score, outcome=scored.outcome,
                                  groups={g: scored.labels[g] for g in group},
                                  period=scored.labels[period] if period else None,
                                  version=scored.labels[version] if version else None,
                                  flow=(("rows in the linked file", len(scored.outcome)),))
        result = run_evaluation(frozen, data, applied)
        paths = build_report(result).write(out)
    except (EvaluationError, PolicyError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    for p in paths:
        typer.echo(f"wrote {p}")


DEMO_PEOPLE = 10_000


def demo_step(settings, console) -> list[str]:
    """Write the synthetic T2D model's evaluation report once, under the data directory."""
    from importlib.resources import files

    from phta.disclosure import load_policy
    from phta.evaluation.evaluate import run_evaluation
    from phta.evaluation.protocol import load_protocol
    from phta.evaluation.report import build_report
    from phta.evaluation.synthetic import diabetes_population

    out = settings.data_dir / "evaluation"
    html = out / "evaluation-report.html"
    if not html.exists():
        protocol = load_protocol(Path(str(files("phta.evaluation") / "examples" / "diabrisk_protocol.yaml")))
        result = run_evaluation(protocol, diabetes_population(DEMO_PEOPLE), load_policy(settings.disclosure_policy or "default"))
        build_report(result).write(out)
    return [f"Evaluation report (synthetic T2D risk model, calibration differs by ethnic group): {html}"]
