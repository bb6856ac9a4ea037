"""Reading metric names out of PromQL expressions and Prometheus exposition text (for tests)."""

import re

_FUNCTIONS = {
    "sum", "rate", "increase", "histogram_quantile", "count", "min", "max", "avg", "by",
    "without", "and", "or", "unless", "on", "ignoring", "group_left", "group_right", "offset",
    "abs", "irate", "delta", "clamp_min", "clamp_max", "topk", "bottomk", "le", "bool",
}  # fmt: skip


def metric_names(expr: str) -> set[str]:
    """The metric names an expression reads (label matchers, strings and functions removed)."""
    expr = re.sub(r'"[^"]*"', '""', expr)  # strings
    expr = re.sub(r"\{[^}]*\}", "", expr)  # label matchers
    expr = re.sub(r"\[[^\]]*\]", "", expr)  # ranges
    expr = re.sub(r"\b(by|without|on|ignoring)\s*\([^)]*\)", "", expr)  # grouping labels
    names = set(re.findall(r"[A-Za-z_:][A-Za-z0-9_:]*", expr))
    return {n for n in names if n not in _FUNCTIONS and not re.fullmatch(r"[0-9eE.]+", n)}


def exported_names(exposition: str) -> set[str]:
    """Every series name a scrape can show: the families' samples, with their suffixes."""
    names: set[str] = set()
    for line in exposition.splitlines():
        typed = re.match(r"# TYPE (\S+) (\w+)", line)
        if typed:
            name, kind = typed.groups()
            names.add(name)
            if kind == "counter":
                names.add(f"{name}_total" if not name.endswith("_total") else name)
            if kind == "histogram":
                names.update({f"{name}_bucket", f"{name}_sum", f"{name}_count"})
        elif line and not line.startswith("#"):
            names.add(re.split(r"[{ ]", line, maxsplit=1)[0])
    return names
