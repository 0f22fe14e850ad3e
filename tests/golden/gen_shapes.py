#!/usr/bin/env python3
"""Regenerates the golden shape tables used by the unit tests in src/shape/.

Each table is `t,value` for t = 0..duration-1 (integer seconds) and is produced by a
re-implementation of the ORIGINAL Python algorithms, not of the Rust code:

* AIPerfBootCampImpl `locust/locustfile_trace.py` (TraceShape): the CSV is read with
  `pandas.read_csv`, which takes the first line as a header and drops it; values are min-max
  scaled and truncated with `int()`; the index is `int(run_time) % n`, or with LOCUST_FIT_TRACE
  `min(int(run_time * n / TIME_LIMIT), n - 1)`.
* ctl `util/locust/weibull.py` + the Weibull load shape of `hotel-reservations.py`: numpy's
  legacy `np.random.seed` / `np.random.uniform`, truncated Weibull by inverse CDF, `np.linspace`
  offset ramp, stage i covers [i*dt, (i+1)*dt) and the last stage is held.

Usage: python3 tests/golden/gen_shapes.py   (needs numpy; pandas optional)
"""

import csv
import math
import os

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
WORKLOADS = os.path.join(HERE, "..", "..", "workloads")


def read_trace_like_locust(path):
    """The first column of the CSV with the first line consumed as a header, as pandas does."""
    try:
        import pandas as pd

        return pd.read_csv(path).to_numpy().T[0]
    except ImportError:
        with open(path, newline="") as f:
            rows = [r for r in csv.reader(f) if r]
        return np.array([float(r[0]) for r in rows[1:]])


def locust_trace_table(csv_name, amplitude, shift, time_limit, fit):
    """TraceShape.__init__ scaling and TraceShape.tick indexing for t = 0..time_limit-1."""
    trace = read_trace_like_locust(os.path.join(WORKLOADS, csv_name))
    amplitude = int(float(amplitude))  # the env values go through int(float(v))
    shift = int(float(shift))
    lo, hi = trace.min(), trace.max()
    scaled = [int((v - lo) / (hi - lo) * amplitude + shift) for v in trace]
    n = len(scaled)
    rows = []
    for t in range(time_limit):
        run_time = float(t)
        if fit:
            idx = min(int(run_time * n / time_limit), n - 1)
        else:
            idx = int(run_time) % n
        rows.append((t, scaled[idx]))
    return rows


def weibull_table(k, mean, u_min, u_max, dt, ls_y, seed, run_time):
    """weibull.py sampler + the hotel-reservations Weibull shape's stages, sampled every second."""
    n = int(run_time / dt)
    lam = mean / math.gamma(1 + 1 / k)

    def cdf(x):
        return 1 - np.exp(-((x / lam) ** k))

    np.random.seed(seed)
    u = np.random.uniform(0, 1, n)
    u_prime = cdf(u_min) + u * (cdf(u_max) - cdf(u_min))
    loads = lam * (-np.log(1 - u_prime)) ** (1 / k)
    offset = np.linspace(u_min, u_min + ls_y, n)
    stages = [((i + 1) * dt, int(loads[i] + offset[i])) for i in range(n)]
    rows = []
    for t in range(run_time):
        level = stages[-1][1]  # after the last stage the shape holds it
        for start, load in stages:
            if t < start:
                level = load
                break
        rows.append((t, level))
    return rows


def write(name, rows):
    with open(os.path.join(HERE, name), "w", newline="\n") as f:
        f.write("t,value\n")
        for t, v in rows:
            f.write(f"{t},{v}\n")


def main():
    # (1) the AIPerfBootCampImpl README example
    write("locust_sin400_a19_s1_d800.csv", locust_trace_table("sin400.csv", 19, 1, 800, False))
    # (2) the same stretched over 1000 s with LOCUST_FIT_TRACE=true
    write("locust_sin400_a19_s1_d1000_fit.csv", locust_trace_table("sin400.csv", 19, 1, 1000, True))
    # (3) the twitter trace
    write("locust_twitter_a100_s5_d600.csv", locust_trace_table("twitter.csv", 100, 5, 600, False))
    # (4) weibull.py / hotel-reservations.py option defaults
    write("weibull_defaults_d3600.csv", weibull_table(1, 150, 100, 1000, 20, 500, 42, 3600))
    # (5) the README-era main.py load test (180 min)
    write("weibull_main_d10800.csv", weibull_table(2, 1200, 2000, 6000, 60, 2000, 42, 10800))


if __name__ == "__main__":
    main()
