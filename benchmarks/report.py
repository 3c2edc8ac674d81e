"""The benchmark report: every figure of results/latest.json beside its target from the
issues, as results/README.md (markdown tables) and three charts (PNG).

`python -m benchmarks` runs the benchmarks and then this; `python -m benchmarks report`
rebuilds the report alone from what latest.json holds.
"""

from __future__ import annotations

import importlib
import operator
import time
from collections.abc import Callable, Sequence
from typing import Any

import attrs

from ._harness import RESULTS, Table, load_results, write_results

COMMAND = "python3 -m nox -s bench"
_COMPARISONS: dict[str, Callable[[float, float], bool]] = {
    ">=": operator.ge,
    "<=": operator.le,
    "==": operator.eq,
}

Figures = dict[str, Any]  # latest.json's "benchmarks": one document per benchmark


@attrs.frozen
class Target:
    """A figure the issues ask for: `read` takes it from the results; `op` and `bound` say
    what it must be, or are None where an issue asks for the figure alone."""

    benchmark: str
    figure: str
    issues: str
    read: Callable[[Figures], float]
    op: str | None = None
    bound: float | None = None
    unit: str = ""

    def judge(self, figures: Figures) -> dict[str, Any]:
        measured = self.read(figures)
        met = None
        if self.op is not None and self.bound is not None:
            met = _COMPARISONS[self.op](measured, self.bound)
        return {
            "benchmark": self.benchmark,
            "figure": self.figure,
            "issues": self.issues,
            "measured": measured,
            "unit": self.unit,
            "target": None if self.op is None else f"{self.op} {self.bound:g}{self.unit}",
            "met": met,
        }


def _overhead(call: str, server: str = "minimal") -> Callable[[Figures], float]:
    def read(figures: Figures) -> float:
        rows = figures["overhead"]["rows"]
        return float(
            next(
                r["ratio"]
                for r in rows
                if r["server"] == server and r["call"] == call and r["concurrency"] == 64
            )
        )

    return read


def _waiters(size: int, mode: str, key: str) -> Callable[[Figures], float]:
    def read(figures: Figures) -> float:
        rows = figures["waiters"]["rows"]
        return float(next(r[key] for r in rows if r["orders"] == size and r["mode"] == mode))

    return read


def _webhooks(mode: str, key: str) -> Callable[[Figures], float]:
    def read(figures: Figures) -> float:
        return float(next(r[key] for r in figures["waiters"]["webhooks"] if r["mode"] == mode))

    return read


def _all_429s(figures: Figures) -> float:
    waiters = figures["waiters"]
    rows = [*waiters["rows"], *waiters["webhooks"], waiters["esim"]]
    return float(sum(r["http_429"] for r in rows))


def _temporal_rounds(figures: Figures) -> list[dict[str, Any]]:
    temporal = figures["temporal"]
    return [*temporal["throughput"]["rounds"], *temporal["recovery"]["rounds"]]


def _temporal_throughput(kind: str, workers: int) -> Callable[[Figures], float]:
    def read(figures: Figures) -> float:
        rounds = figures["temporal"]["throughput"]["rounds"]
        return float(
            next(r["per_s"] for r in rounds if r["kind"] == kind and r["workers"] == workers)
        )

    return read


def _temporal_resumed(setting: str) -> Callable[[Figures], float]:
    def read(figures: Figures) -> float:
        rounds = figures["temporal"]["recovery"]["rounds"]
        waits = [
            r["longest_task_wait_after_kill"]["killed_workers_orders"]["p50_s"]
            for r in rounds
            if r["setting"] == setting
        ]
        return max(waits)

    return read


TARGETS = (
    Target(
        "overhead",
        "SDK/raw, wallets.transaction(id), concurrency 64, minimal server",
        "2, 10",
        _overhead("wallets.transaction(id)"),
        ">=",
        0.85,
    ),
    Target(
        "overhead",
        "SDK/raw, wallets.list(), concurrency 64, minimal server",
        "10",
        _overhead("wallets.list()"),
        ">=",
        0.85,
    ),
    Target(
        "overhead",
        "SDK/raw, wallets.transaction(id), concurrency 64, sandbox",
        "2",
        _overhead("wallets.transaction(id)", "sandbox"),
    ),
    Target(
        "creates",
        "SDK/raw, 2,000 voucher creates at concurrency 64",
        "3",
        lambda f: float(f["creates"]["ratio"]),
        ">=",
        0.8,
    ),
    Target(
        "waiters",
        "memory per waiter, 10,000 pending topups",
        "4",
        _waiters(10_000, "sweeping", "bytes_per_waiter"),
        "<=",
        2048,
        " B",
    ),
    Target(
        "waiters",
        "p50 detection, scheduler vs naive loop, 10,000 topups (speedup)",
        "4",
        _waiters(10_000, "sweeping", "p50_speedup_vs_naive"),
        ">=",
        20,
        "x",
    ),
    Target("waiters", "429 answers, every waiters run", "4", _all_429s, "==", 0),
    Target(
        "waiters",
        "p50 detection with webhooks, vouchers",
        "6",
        _webhooks("vouchers, webhooks", "p50_s"),
        unit=" s",
    ),
    Target(
        "waiters",
        "p50 detection by polls only, vouchers",
        "6",
        _webhooks("vouchers, polls only", "p50_s"),
        unit=" s",
    ),
    Target(
        "waiters",
        "eSIM orders resolved by the held create's answer",
        "5",
        lambda f: round(f["waiters"]["esim"]["resolved_without_poll"] * 100, 1),
        unit="%",
    ),
    Target(
        "batch",
        "batch/raw orders/s, 10,000 vouchers, journal on",
        "11",
        lambda f: float(f["batch"]["throughput"]["ratio"]),
        ">=",
        0.8,
    ),
    Target(
        "batch",
        "peak RSS growth from 1,000 to 10,000 rows (flat: noise only)",
        "11",
        lambda f: round(f["batch"]["memory"]["peak_growth_kib"] / 1024, 1),
        "<=",
        5,
        " MiB",
    ),
    Target(
        "batch",
        "429 answers at the production create quota",
        "11",
        lambda f: float(f["batch"]["quota"]["answers_429"]),
        "==",
        0,
    ),
    Target(
        "batch",
        "create quota use, steady state",
        "11",
        lambda f: round(f["batch"]["quota"]["steady_use"] * 100, 1),
        ">=",
        95,
        "%",
    ),
    Target(
        "fleet",
        "Redis limiter/local token buckets, requests/s at concurrency 64",
        "12",
        lambda f: float(f["fleet"]["rows"][-1]["ratio"]),
    ),
    Target(
        "temporal",
        "orders/s, one worker (delivered in the create's answer)",
        "12",
        _temporal_throughput("instant", 1),
        unit="/s",
    ),
    Target(
        "temporal",
        "orders/s, two workers (delivered in the create's answer)",
        "12",
        _temporal_throughput("instant", 2),
        unit="/s",
    ),
    Target(
        "temporal",
        "killed worker's workflows: p50 wait after the kill, worse round, defaults",
        "12",
        _temporal_resumed("defaults"),
        unit=" s",
    ),
    Target(
        "temporal",
        "killed worker's workflows: p50 wait after the kill, worse round, tuned",
        "12",
        _temporal_resumed("tuned"),
        unit=" s",
    ),
    Target(
        "temporal",
        "logins per round, the most in any round (one for the fleet)",
        "12",
        lambda f: float(max(r["logins"] for r in _temporal_rounds(f))),
        "==",
        1,
    ),
    Target(
        "temporal",
        "429 answers, every round",
        "12",
        lambda f: float(sum(r["answers_429"] for r in _temporal_rounds(f))),
        "==",
        0,
    ),
    Target(
        "temporal",
        "creates beyond one per order, every round",
        "12",
        lambda f: float(sum(r["creates"] - r["orders"] for r in _temporal_rounds(f))),
        "==",
        0,
    ),
)


def judge(figures: Figures) -> list[dict[str, Any]]:
    """Every target whose benchmark has results, judged."""
    return [target.judge(figures) for target in TARGETS if target.benchmark in figures]


def _verdict(met: bool | None) -> str:
    return {True: "met", False: "MISSED", None: "reported"}[met]


def targets_table(judged: Sequence[dict[str, Any]]) -> Table:
    return Table(
        "Targets from the issues (reported: the issue asks for the figure, not a bound)",
        ["benchmark", "figure", "measured", "target", "issue", "verdict"],
        [
            (
                j["benchmark"],
                j["figure"],
                f"{j['measured']:g}{j['unit']}",
                j["target"] or "-",
                j["issues"],
                _verdict(j["met"]),
            )
            for j in judged
        ],
    )


# --- charts ------------------------------------------------------------------------


def _pyplot() -> Any:
    try:
        import matplotlib
    except ModuleNotFoundError:
        raise SystemExit(
            "the report's charts need matplotlib: pip install matplotlib "
            f"(or run `{COMMAND}`, which installs it)"
        ) from None
    matplotlib.use("Agg")
    import matplotlib.pyplot

    return matplotlib.pyplot


def _cdf(axes: Any, percentiles: Sequence[float], label: str, style: str = "-") -> None:
    floor = 0.01  # a log axis has no zero: detections within 10 ms are drawn at 10 ms
    axes.plot([max(p, floor) for p in percentiles], range(len(percentiles)), style, label=label)


def detection_chart(plt: Any, waiters: dict[str, Any]) -> Any:
    figure, (topups, vouchers) = plt.subplots(1, 2, figsize=(12, 4.8), sharey=True)
    labels = {"sweeping": "scheduler (sweeps)", "naive": "naive loop (a GET per order)"}
    for row in waiters["rows"]:
        style = "-" if row["orders"] == max(r["orders"] for r in waiters["rows"]) else ":"
        _cdf(topups, row["percentiles_s"], f"{labels[row['mode']]}, {row['orders']:,}", style)
    topups.set_title("pending topups, read quota 300/min")
    topups.set_ylabel("orders detected (%)")
    for row in waiters["webhooks"]:
        _cdf(vouchers, row["percentiles_s"], row["mode"].removeprefix("vouchers, "))
    vouchers.set_title(f"{waiters['webhooks'][0]['orders']:,} vouchers, fulfilled after 1-10 min")
    for axes in (topups, vouchers):
        axes.set_xscale("log")
        axes.set_xlabel("detection latency after the server settled (simulated s, log)")
        axes.grid(True, which="both", alpha=0.3)
        axes.legend(loc="lower right", fontsize="small")
    figure.suptitle("How long after an order settles the SDK knows (cumulative share)")
    return figure


def throughput_chart(plt: Any, figures: Figures) -> Any:
    bars: list[tuple[str, float, float | None, str]] = []  # label, ratio, target, rates
    for row in figures.get("overhead", {}).get("rows", []):
        target = 0.85 if row["server"] == "minimal" and row["concurrency"] == 64 else None
        bars.append(
            (
                f"{row['call']} c={row['concurrency']} ({row['server']})",
                row["ratio"],
                target,
                f"{row['raw_per_s']:,} vs {row['sdk_per_s']:,}/s",
            )
        )
    if "creates" in figures:
        creates = figures["creates"]
        rates = f"{creates['raw_per_s']:,} vs {creates['sdk_per_s']:,}/s"
        bars.append(("voucher creates c=64 (sandbox)", creates["ratio"], 0.8, rates))
    if "batch" in figures:
        speed = figures["batch"]["throughput"]
        for label, key, per_s in (
            ("batch, journal", "ratio", "batch_per_s"),
            ("batch, no journal", "ratio_no_journal", "batch_no_journal_per_s"),
        ):
            rates = f"{speed['raw_per_s']:,} vs {speed[per_s]:,}/s"
            bars.append((f"{label} c=64 (sandbox)", speed[key], 0.8, rates))
    figure, axes = plt.subplots(figsize=(11, 0.42 * len(bars) + 1.4))
    positions = range(len(bars))
    axes.barh(positions, [b[1] for b in bars], color="tab:blue")
    for position, (_, ratio, target, rates) in zip(positions, bars, strict=True):
        axes.text(ratio + 0.01, position, f"{ratio:.2f}  ({rates})", va="center", fontsize=8)
        if target is not None:
            axes.plot([target, target], [position - 0.4, position + 0.4], color="tab:red", lw=2)
    axes.set_yticks(list(positions), [b[0] for b in bars], fontsize=8)
    axes.invert_yaxis()
    axes.axvline(1.0, color="grey", lw=0.8)
    axes.set_xlim(0, 1.6)
    axes.set_xlabel("SDK ÷ raw aiohttp, requests/s (red: the issue's target; rates raw vs SDK)")
    axes.set_title("What the SDK keeps of raw aiohttp throughput (median of interleaved rounds)")
    figure.tight_layout()
    return figure


def quota_chart(plt: Any, quota: dict[str, Any]) -> Any:
    created = [t / 60 for t in quota["created_at_scaled_s"]]  # scaled minutes
    per_minute = quota["quota_per_minute"]
    figure, (cumulative, minutes) = plt.subplots(1, 2, figsize=(12, 4.5))
    cumulative.plot(created, range(1, len(created) + 1), label="orders created")
    end = created[-1]
    cumulative.plot(
        [0, end],
        [per_minute, per_minute * (1 + end)],
        "--",
        color="tab:red",
        label=f"server's allowance: a full bucket of {per_minute}, then {per_minute}/min",
    )
    cumulative.set_xlabel("scaled minutes since the batch started")
    cumulative.set_ylabel("orders created")
    cumulative.legend(fontsize="small")
    cumulative.grid(True, alpha=0.3)
    whole = int(end)
    counts = [sum(1 for t in created if m <= t < m + 1) for m in range(whole)]
    minutes.bar(range(whole), counts, color="tab:blue", label="orders created in the minute")
    minutes.axhline(per_minute, color="tab:red", ls="--", label=f"quota: {per_minute}/min")
    minutes.set_xlabel("scaled minute (whole minutes only)")
    minutes.set_ylabel("creates")
    minutes.legend(fontsize="small", loc="lower right")
    figure.suptitle(
        f"Batch of {quota['orders']} vouchers at the production create quota: "
        f"{quota['answers_429']} x 429, steady use {quota['steady_use']:.1%}"
    )
    figure.tight_layout()
    return figure


@attrs.frozen
class Chart:
    """A chart of the report: its file, its title, how to read it, the benchmark whose
    figures it draws, and how (`draw(pyplot, figures)` makes the figure)."""

    file: str
    title: str
    reading: str
    benchmark: str
    draw: Callable[[Any, Figures], Any]


CHARTS = (
    Chart(
        "detection_latency.png",
        "Detection latency: naive polling, the scheduler, webhooks",
        "The share of orders the client knew settled (y) within a time after the server "
        "settled them (x, simulated seconds, log scale), every percentile of each run. Left: "
        "pending topups under the production read quota, naive loop against the scheduler's "
        "sweeps. Right: vouchers fulfilled after 1-10 minutes, naive loop, the scheduler "
        "alone, and the scheduler woken by webhooks.",
        "waiters",
        lambda plt, figures: detection_chart(plt, figures["waiters"]),
    ),
    Chart(
        "throughput.png",
        "SDK against raw aiohttp throughput",
        "Each bar is the SDK's requests (or orders) per second divided by a raw aiohttp "
        "loop's doing the same, median of interleaved rounds; the red marks are the issues' "
        "targets.",
        "overhead",
        throughput_chart,
    ),
    Chart(
        "batch_quota.png",
        "Batch quota use over time",
        "Left: orders created against the server's allowance (a full bucket, then the quota "
        "a minute). Right: creates in each whole scaled minute against the quota; the first "
        "minute holds the initial full bucket as well.",
        "batch",
        lambda plt, figures: quota_chart(plt, figures["batch"]["quota"]),
    ),
)


def write_charts(figures: Figures) -> list[Chart]:
    """Draw the charts whose benchmarks have results; those charts."""
    plt = _pyplot()
    written = []
    for chart in CHARTS:
        if chart.benchmark not in figures:
            continue
        figure = chart.draw(plt, figures)
        figure.savefig(RESULTS / chart.file, dpi=110, metadata={"Software": None})
        plt.close(figure)
        written.append(chart)
    return written


# --- the page ----------------------------------------------------------------------


def markdown(figures: Figures, judged: Sequence[dict[str, Any]], charts: list[Chart]) -> str:
    first = min(figures.values(), key=lambda doc: str(doc["measured_at"]))
    last = max(figures.values(), key=lambda doc: str(doc["measured_at"]))
    lines = [
        "# Benchmark report",
        "",
        f"One run of each benchmark, measured {first['measured_at']} to {last['measured_at']} "
        f"on {first.get('cpus')} CPUs ({first.get('platform', first['machine'])}), Python "
        f"{first['python']}. The machine is shared and noisy: read the ratios within a run, "
        "not the absolute rates.",
        "",
        f"Reproduce: `{COMMAND}` runs every benchmark and rebuilds this page, "
        "`latest.json` (every figure, and the targets judged) and the charts; "
        "`python -m benchmarks NAME` runs one and rebuilds them; `python -m benchmarks "
        "report` rebuilds them from latest.json alone.",
    ]
    lines += ["", "## Targets", "", targets_table(judged).markdown(), ""]
    if charts:
        lines += ["## Charts", ""]
        for chart in charts:
            title = chart.title
            lines += [f"### {title}", "", f"![{title}]({chart.file})", "", chart.reading, ""]
    lines += ["## Every figure", ""]
    for name, doc in figures.items():
        took = f", took {doc['seconds'] / 60:.1f} min" if "seconds" in doc else ""
        lines += [
            f"### {name}",
            "",
            f"Measured {doc['measured_at']}{took}; load average (1, 5, 15 min) at its end: "
            f"{doc.get('load_average_after')}.",
            "",
        ]
        module = importlib.import_module(f"benchmarks.{name}")
        for table in module.tables(doc):
            lines += [table.markdown(), ""]
    return "\n".join(lines)


def main() -> None:
    document = load_results()
    figures = document["benchmarks"]
    if not figures:
        raise SystemExit(f"no results yet: run `{COMMAND}`")
    judged = judge(figures)
    document["targets"] = judged
    document["report_written_at"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    write_results(document)
    charts = write_charts(figures)
    (RESULTS / "README.md").write_text(markdown(figures, judged, charts))
    print(targets_table(judged).text())
    print(f"\nreport: {RESULTS / 'README.md'}, charts: {', '.join(c.file for c in charts)}")
