"""The chapters of the cohort language's spec, in reading order (also the reference page's order)."""

from tests.spec.cohort import (
    ch01_events,
    ch02_values,
    ch03_windows,
    ch04_patients,
    ch05_logic,
    ch06_cohorts,
    ch07_variants,
)

CHAPTERS = [ch01_events, ch02_values, ch03_windows, ch04_patients, ch05_logic, ch06_cohorts, ch07_variants]


def all_cases():
    for chapter in CHAPTERS:
        for case in chapter.CASES:
            yield chapter, case
