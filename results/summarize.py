"""Print markdown tables of the committed low-dimensional and sweep results (used for results/README.md).

Usage: python results/summarize.py
"""

import json
from pathlib import Path

ROOT = Path(__file__).resolve().parent


def fmt(v):
    if isinstance(v, float):
        return f"{v:.3g}"
    if isinstance(v, list):
        return "(" + ", ".join(str(x) for x in v) + ")"
    return "-" if v is None else str(v)


def lowdim() -> None:
    print("| setting | run | eta | K (start) | eta*K | Betti before -> after | band after (x diam) | "
          "significant Betti before -> after | distinct before -> after | collapsed pairs | mechanism | "
          "steps | final loss | topology |")
    print("|" + " --- |" * 14)
    for metrics in sorted((ROOT / "lowdim").glob("*/*/metrics.json")):
        m = json.loads(metrics.read_text())
        t = m["topology"]
        d = t.get("diagnostics", {})
        print(f"| {metrics.parent.parent.name} | {metrics.parent.name} | {m['eta']:g} | {m['K_start']['K']:.4g} | "
              f"{m['eta_K_start']:.3g} | {fmt(t.get('betti_before'))} -> {fmt(t.get('betti_after'))} | "
              f"{fmt(t.get('band_after'))} | {fmt(t.get('persistent_betti_before'))} -> "
              f"{fmt(t.get('persistent_betti_after'))} | {t.get('distinct_before')} -> {t.get('distinct_after')} | "
              f"{d.get('collapsed_pairs', t.get('contracted_pairs'))} | {t['mechanism']} | {m['steps']} | "
              f"{m['loss_end']:.3g} | {'changed' if t['changed'] else 'preserved'} |")


def sweep() -> None:
    for metrics in sorted((ROOT / "sweep").glob("*/metrics.json")):
        m = json.loads(metrics.read_text())
        print(f"\n{metrics.parent.name}: K = {m['K']['K']:.4g} (1/K = {1 / m['K']['K']:.3g}), "
              f"no change below 1/K: {m['consistent_with_theorem1']}, smallest eta*K with a change: "
              f"{m['smallest_changed_eta_K']}\n")
        print("| eta*K | eta | outcome | first change (step) | neurons lost | Betti end | min distance ratio | "
              "final loss |")
        print("|" + " --- |" * 8)
        for r in m["rows"]:
            print(f"| {r['eta_K']:.3g} | {r['eta']:.3g} | {r['outcome']} | {fmt(r['first_change_step'])} | "
                  f"{fmt(r['merged'])} | {fmt(r['betti_end'])} | {fmt(r['min_distance_ratio'])} | "
                  f"{fmt(r['loss_end'])} |")


if __name__ == "__main__":
    lowdim()
    sweep()
