"""Words for results: the check cell's printout for learners and the feedback file for a submission.

Everything here is deterministic text (no timings, no paths outside the submission's name), so a
solution notebook's stored check outputs can be compared by nbval.
"""

__all__ = ["check_report", "submission_report", "points_text", "safe_text"]


def safe_text(text) -> str:
    """``text`` with whatever cannot be written as UTF-8 or would break a line made visible.

    File names that are not valid UTF-8 reach Python as lone surrogates ('\\udcff'), and so can
    exception messages from a notebook: both become backslash escapes, as do control characters
    (a newline in a file name), so CSV rows and feedback lines stay one line each and writable.
    """
    text = str(text)
    try:  # a file name's undecodable bytes come back as \xe9
        text = text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    except UnicodeEncodeError:  # surrogates that never were bytes: \ud800
        text = text.encode("utf-8", "backslashreplace").decode("utf-8")
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() or c == " " else c.encode("unicode_escape").decode("ascii")
                   for c in text)


def points_text(points: float) -> str:
    """3.0 -> '3', 1.5 -> '1.5', 2.67 -> '2.67'."""
    return f"{points:.2f}".rstrip("0").rstrip(".")


def _case_lines(result, indent: str):
    """Every case, passed or not, each failure with its message and hint (the notebook's check)."""
    lines = []
    for case in result.cases:
        lines.append(f"{indent}{'✓' if case.passed else '✗'} {case.key}")
        if not case.passed:
            lines.append(f"{indent}    {case.message}")
            if case.hint:
                lines.append(f"{indent}    hint: {case.hint}")
    return lines


def _failure_lines(result, indent: str):
    """Failed cases grouped by message, so that one mistake reads once (the feedback file)."""
    groups = {}
    for case in result.cases:
        if not case.passed:
            groups.setdefault(case.message, []).append(case)
    lines = []
    for message, cases in groups.items():
        if len(cases) == len(result.cases) > 1:
            lines.append(f"{indent}✗ all {len(cases)} cases")
        else:
            lines += [f"{indent}✗ {case.key}" for case in cases]
        lines.append(f"{indent}    {message}")
        if len(cases) == 1 and cases[0].hint:  # a case's own hint fits that case only
            lines.append(f"{indent}    hint: {cases[0].hint}")
    return lines


def check_report(result) -> str:
    """What a check cell prints: which public cases passed, and for each failure what was wrong."""
    name = f"{result.question_id} · {result.answer}"
    if not result.cases:
        lines = [f"{name}: could not check it: {result.message}"]
        if result.hint:
            lines.append(f"hint: {result.hint}")
        return "\n".join(lines)
    total = len(result.cases)
    if result.status == "ok":
        return (f"{name}: all {total} public checks passed. The grader runs more cases, so keep "
                f"your code general.")
    lines = [f"{name}: {result.passed} of {total} public checks passed."]
    lines += _case_lines(result, "  ")
    if result.hint:
        lines.append(f"Hint for {result.question_id}: {result.hint}")
    return "\n".join(lines)


def _summary_line(result, width: int) -> str:
    score = f"{points_text(result.points)} / {points_text(result.max_points)}"
    if result.cases:
        detail = f"{result.passed} of {len(result.cases)} cases passed"
    else:
        detail = result.message
    return f"{result.question_id:<4} {result.answer:<{width}} {score:<11} {result.status:<10} {detail}".rstrip()


def submission_report(grade) -> str:
    """The feedback file for one graded submission (see nnbook.grading.grader.SubmissionGrade)."""
    lines = [f"Submission: {grade.submission}"]
    if grade.exercise_set:
        lines.append(f"Exercise set: {grade.exercise_set} ({grade.title})")
    lines.append(f"Score: {points_text(grade.points)} / {points_text(grade.max_points)}")
    if grade.questions:
        width = max(len(q.answer) for q in grade.questions)
        lines += [""] + [_summary_line(q, width) for q in grade.questions]
    for result in grade.questions:
        if result.status == "ok" or not result.cases:
            continue
        lines += ["", f"{result.question_id} {result.answer} ({result.status})"]
        lines += _failure_lines(result, "  ")
        if result.hint:
            lines.append(f"  hint: {result.hint}")
    if grade.notes:
        lines += ["", "Notes"] + [f"  - {note}" for note in grade.notes]
    # Every line made safe: messages come from the notebook and may hold lone surrogates.
    return "\n".join(_safe_lines(line) for line in lines) + "\n"


def _safe_lines(line: str) -> str:
    return "\n".join(safe_text(part) for part in str(line).split("\n"))
