"""How a result reads in the table: every figure a ratio in words ("ours 3.20× faster than
copy_fixed"), times and sizes with their unit, and one row per comparison with its target and
status (a target not reached is MISSED)."""

__all__ = ("fmt_ratio", "faster", "less_memory", "ms", "mb", "row")


def fmt_ratio(x):
    if x >= 100:
        return f"{x:,.0f}"
    if x >= 10:
        return f"{x:.1f}"
    return f"{x:.2f}"


def faster(ours, ref, ref_name, subject="ours"):
    """'ours 3.20× faster than copy_fixed' / 'ours 1.40× slower than floor', and ref / ours."""
    if ours <= 0 or ref <= 0:
        return "n/a", None
    if ours <= ref:
        return f"{subject} {fmt_ratio(ref / ours)}× faster than {ref_name}", ref / ours
    return f"{subject} {fmt_ratio(ours / ref)}× slower than {ref_name}", ref / ours


def less_memory(ours, ref, ref_name):
    if ours <= 0 and ref <= 0:
        return "neither grew measurably (0 MB)", None
    if ours <= 0:
        return f"ours uses less than {ref_name} (none measurable vs {ref / 2**20:.1f} MB)", None
    if ours <= ref:
        return f"ours uses {fmt_ratio(ref / ours)}× less than {ref_name}", ref / ours
    return f"ours uses {fmt_ratio(ours / ref)}× more than {ref_name}", ref / ours


def ms(seconds):
    if seconds is None:
        return "n/a"
    if seconds >= 1:
        return f"{seconds:.2f} s"
    if seconds >= 1e-3:
        return f"{seconds * 1e3:.1f} ms"
    return f"{seconds * 1e6:.0f} µs"


def mb(nbytes):
    return "n/a" if nbytes is None else f"{nbytes / 2**20:.1f} MB"


def row(measurement, case, ours, ref, words, target="", met=None, **extra):
    """One row of the results table (``met``: None when there is no target to judge)."""
    status = "" if met is None else ("met" if met else "MISSED")
    return dict(measurement=measurement, case=case, ours=ours, reference=ref, comparison=words,
                target=target, status=status, **extra)
