"""Import time of skbcnn and its light modules against TensorFlow.

Each import runs in a fresh Python subprocess (so nothing is cached in
``sys.modules``); the rounds are interleaved (every module once per round,
``--repeat`` rounds) and the median is reported. The in-process time of the
``import`` statement is measured, plus the whole subprocess wall time
(interpreter start-up included). ``python -X importtime`` is then run once
per light module to confirm that neither TensorFlow nor Keras is imported
and to list the heaviest imports.

    python benchmarks/bench_import.py [--quick] [--repeat 5]
"""

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import machine_info, markdown_table, median, print_machine, write_json  # noqa: E402

MODULES = ["skbcnn", "skbcnn.datasets", "skbcnn.enhancement", "skbcnn.augmentation",
           "skbcnn.classifier", "tensorflow"]
LIGHT = ["skbcnn", "skbcnn.datasets", "skbcnn.enhancement", "skbcnn.augmentation"]
HEAVY_ROOTS = ("tensorflow", "keras", "tf_keras", "scikeras", "torch", "jax")

PROBE = (
    "import sys, time, json\n"
    "t = time.perf_counter()\n"
    "import {mod}\n"
    "t = time.perf_counter() - t\n"
    "print(json.dumps({{'import_s': t, 'heavy': sorted({{m.split('.')[0] for m in sys.modules "
    "if m.split('.')[0] in {heavy!r}}})}}))\n"
)


def child_env():
    env = dict(os.environ)
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # as the skbcnn command does
    return env


def time_import(mod):
    start = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", PROBE.format(mod=mod, heavy=HEAVY_ROOTS)],
                         capture_output=True, text=True, env=child_env(), check=True)
    wall = time.perf_counter() - start
    result = json.loads(out.stdout.strip().splitlines()[-1])
    result["process_s"] = wall
    return result


def importtime(mod):
    """(top-level heavy modules imported, 5 largest cumulative imports)."""
    out = subprocess.run([sys.executable, "-X", "importtime", "-c", f"import {mod}"],
                         capture_output=True, text=True, env=child_env(), check=True)
    entries = []  # (name with its nesting indentation, cumulative seconds)
    for line in out.stderr.splitlines():
        if not line.startswith("import time:") or "cumulative" in line:
            continue
        _self_us, cumulative_us, name = line[len("import time:"):].split("|")
        entries.append((name[1:], int(cumulative_us) / 1e6))
    heavy = sorted({n.strip().split(".")[0] for n, _ in entries
                    if n.strip().split(".")[0] in HEAVY_ROOTS})
    # direct imports of skbcnn's modules (nesting depth <= 2), skbcnn itself left out
    top = sorted(((n.strip(), c) for n, c in entries
                  if len(n) - len(n.lstrip()) <= 4 and not n.strip().startswith("skbcnn")),
                 key=lambda e: -e[1])
    return heavy, top[:5]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="3 rounds")
    parser.add_argument("--repeat", type=int, default=None)
    args = parser.parse_args(argv)
    args.repeat = args.repeat or (3 if args.quick else 5)

    info = machine_info()
    t0 = time.perf_counter()
    print_machine(info)
    print(f"fresh subprocess per import, {args.repeat} interleaved rounds, median\n")

    # untimed warm-up: fill the OS file cache for every module
    for mod in ["sys"] + MODULES:
        time_import(mod)
    runs = {mod: [] for mod in ["sys"] + MODULES}
    for r in range(args.repeat):
        order = ["sys"] + MODULES
        if r % 2:
            order = order[::-1]
        for mod in order:
            runs[mod].append(time_import(mod))
        print(f"  round {r}: " + ", ".join(f"{m} {runs[m][-1]['import_s']:.2f}s" for m in MODULES),
              flush=True)

    tf_s = median([x["import_s"] for x in runs["tensorflow"]])
    startup = median([x["process_s"] for x in runs["sys"]])
    checks = {mod: importtime(mod) for mod in LIGHT}
    summary, rows = {}, []
    for mod in MODULES:
        imp = median([x["import_s"] for x in runs[mod]])
        proc = median([x["process_s"] for x in runs[mod]])
        heavy = sorted(set().union(*(x["heavy"] for x in runs[mod])))
        summary[mod] = {"import_s": imp, "process_s": proc, "import_over_tensorflow": imp / tf_s,
                        "heavy_modules_loaded": heavy}
        if mod in checks:
            summary[mod]["importtime_heavy"] = checks[mod][0]
            summary[mod]["importtime_top5"] = checks[mod][1]
        rows.append([f"`import {mod}`", f"{imp:.3f}", f"{proc:.3f}", f"{imp / tf_s:.3f}",
                     ", ".join(heavy) or "none"])
    table = markdown_table(["statement", "import s (median)", "process s (median)",
                            "ratio to import tensorflow", "TF/Keras loaded"], rows)
    print()
    print(table)
    print(f"\ninterpreter start-up alone (python -c 'import sys'): {startup:.3f} s")
    print("\n-X importtime, heaviest top-level imports:")
    for mod, (heavy, top) in checks.items():
        print(f"  {mod}: heavy={heavy or 'none'}; "
              + ", ".join(f"{n} {c:.2f}s" for n, c in top))
    write_json("bench_import" + ("_quick" if args.quick else ""), {
        "benchmark": "bench_import", "machine": info, "args": vars(args),
        "startup_s": startup, "summary": summary,
        "runs": {m: [x["import_s"] for x in v] for m, v in runs.items()}, "table": table,
        "total_runtime_s": time.perf_counter() - t0,
    })


if __name__ == "__main__":
    main()
