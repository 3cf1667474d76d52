"""Reporting checklists: STARD 2015 (diagnostic accuracy) and TRIPOD+AI (prediction models).

Each item is paraphrased (the checklists' own wording is theirs), mapped to the report section
that answers it, and marked from what the report actually contains:

- ``reported``: the section exists and holds the item's content;
- ``not applicable``: the item does not apply to a retrospective evaluation on routinely
  collected records (e.g. blinding of index test readers for an automated score);
- ``not reported``: the item needs information only the study team has (registration, funding,
  sample size reasoning): the evaluation team must add it before publication.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Item:
    checklist: str
    item: str
    topic: str
    section: str | None  # anchor in the report; None when no section reports it
    needs: str | None = None  # result key that must be present for "reported"
    not_applicable: str | None = None  # why, when it never applies here


STARD_2015 = (
    Item("STARD 2015", "1", "Identification as a study of diagnostic accuracy, with a measure of accuracy", "summary", "discrimination"),
    Item("STARD 2015", "2", "Structured summary", "summary"),
    Item("STARD 2015", "3", "Intended use and clinical role of the index test", "protocol"),
    Item("STARD 2015", "4", "Objectives and hypotheses", "protocol"),
    Item("STARD 2015", "5", "Prospective or retrospective data collection", "protocol"),
    Item("STARD 2015", "6", "Eligibility criteria", "flow"),
    Item("STARD 2015", "7", "How potentially eligible participants were identified", "flow"),
    Item("STARD 2015", "8", "Setting, locations and dates", None),
    Item("STARD 2015", "9", "Consecutive, random or convenience series", "protocol"),
    Item("STARD 2015", "10a", "Index test in enough detail to replicate", "protocol"),
    Item("STARD 2015", "10b", "Reference standard in enough detail to replicate", "protocol"),
    Item("STARD 2015", "11", "Rationale for the reference standard", None),
    Item("STARD 2015", "12a", "Positivity cut-offs of the index test, pre-specified or exploratory", "accuracy", "accuracy"),
    Item("STARD 2015", "12b", "Positivity cut-offs of the reference standard", None,
         not_applicable="the reference standard is a recorded diagnosis, not a graded measurement"),
    Item("STARD 2015", "13a", "Whether index test readers knew clinical information or the reference standard", None,
         not_applicable="the index test is an automated score computed before the outcome window"),
    Item("STARD 2015", "13b", "Whether reference standard assessors knew the index test result", None),
    Item("STARD 2015", "14", "Methods for estimating and comparing accuracy", "methods"),
    Item("STARD 2015", "15", "Handling of indeterminate results", "flow"),
    Item("STARD 2015", "16", "Handling of missing data", "flow"),
    Item("STARD 2015", "17", "Analyses of variability, pre-specified or exploratory", "equity", "equity"),
    Item("STARD 2015", "18", "Intended sample size and how it was determined", None),
    Item("STARD 2015", "19", "Flow of participants, with a diagram", "flow"),
    Item("STARD 2015", "20", "Baseline demographic and clinical characteristics", "equity", "equity"),
    Item("STARD 2015", "21a", "Distribution of severity in those with the target condition", None),
    Item("STARD 2015", "21b", "Alternative diagnoses in those without the target condition", None),
    Item("STARD 2015", "22", "Time between index test and reference standard", "protocol"),
    Item("STARD 2015", "23", "Cross-tabulation of index test by reference standard", "accuracy", "accuracy"),
    Item("STARD 2015", "24", "Estimates of accuracy with their precision (95% CI)", "accuracy", "accuracy"),
    Item("STARD 2015", "25", "Adverse events from the index test or reference standard", None,
         not_applicable="no test was performed on participants: the evaluation uses recorded data"),
    Item("STARD 2015", "26", "Limitations", "limitations"),
    Item("STARD 2015", "27", "Implications for practice", "summary"),
    Item("STARD 2015", "28", "Registration number and registry", None),
    Item("STARD 2015", "29", "Where the full protocol can be accessed", "protocol"),
    Item("STARD 2015", "30", "Sources of funding", None),
)

TRIPOD_AI = (
    Item("TRIPOD+AI", "1", "Title: evaluation of a prediction model, population and outcome", "summary"),
    Item("TRIPOD+AI", "3a", "Healthcare context and rationale", "protocol"),
    Item("TRIPOD+AI", "4", "Objectives: evaluation (validation) of the model", "protocol"),
    Item("TRIPOD+AI", "5a", "Sources of data", "protocol"),
    Item("TRIPOD+AI", "5b", "Dates of the data", "drift", "drift"),
    Item("TRIPOD+AI", "6a", "Setting and centres", None),
    Item("TRIPOD+AI", "6b", "Eligibility criteria", "flow"),
    Item("TRIPOD+AI", "8a", "Outcome and how it was assessed, with the time horizon", "protocol"),
    Item("TRIPOD+AI", "9a", "Predictors: how the model's inputs were defined", "protocol"),
    Item("TRIPOD+AI", "10", "Study size", "flow"),
    Item("TRIPOD+AI", "11", "Missing data", "flow"),
    Item("TRIPOD+AI", "12e", "Performance measures and plots (discrimination, calibration, utility)", "methods"),
    Item("TRIPOD+AI", "12f", "Model updating or recalibration", "calibration", "calibration"),
    Item("TRIPOD+AI", "14", "Fairness: methods to assess performance across groups", "equity", "equity"),
    Item("TRIPOD+AI", "15", "Model output and how thresholds were chosen", "accuracy", "accuracy"),
    Item("TRIPOD+AI", "16", "Differences between development and evaluation data", None),
    Item("TRIPOD+AI", "17", "Ethics approval and consent", None),
    Item("TRIPOD+AI", "18c", "Where the protocol can be accessed (frozen protocol hash)", "protocol"),
    Item("TRIPOD+AI", "20a", "Flow of participants", "flow"),
    Item("TRIPOD+AI", "20b", "Characteristics of participants, by group", "equity", "equity"),
    Item("TRIPOD+AI", "23a", "Model performance with confidence intervals", "discrimination", "discrimination"),
    Item("TRIPOD+AI", "23b", "Heterogeneity of performance across groups", "equity", "equity"),
    Item("TRIPOD+AI", "24", "Performance over time and model versions", "drift", "drift"),
    Item("TRIPOD+AI", "26", "Limitations", "limitations"),
    Item("TRIPOD+AI", "27c", "Clinical usefulness (net benefit)", "utility", "net_benefit"),
)


def assess(result: dict) -> list[dict]:
    """Every checklist item with its status and the section that reports it."""
    out = []
    for item in (*STARD_2015, *TRIPOD_AI):
        if item.not_applicable:
            status, section = "not applicable", None
        elif item.section is None or (item.needs is not None and item.needs not in result):
            status, section = "not reported", None
        else:
            status, section = "reported", item.section
        out.append({"checklist": item.checklist, "item": item.item, "topic": item.topic,
                    "status": status, "section": section,
                    "note": item.not_applicable})
    return out
