#!/usr/bin/env python3
"""How many requests the window planning costs for a few data shapes, by split factor.

A model of `Window::split` (src/workfront/window.rs) and the page plan (src/workfront/paging.rs):
a range is cut into equal slices of time, `ceil(count * factor / 10,000)` of them (2 to 256),
each slice counted but the last (derived), and slices over 10,000 entries cut again; a window
of n entries costs `pages_for(n)` pages. It prints, per data shape and factor, the counts, the
pages and their sum. Reproducible: `python3 benches/split_model.py` (seeded, a few seconds).
The model leaves out the burst probe and the root round trip, which do not depend on the
factor.
"""
import math, random
random.seed(1)
T=10000; PAGE=2000; S=1999
def pages_for(n):
    if n==0: return 0
    if n<PAGE: return 1
    return (n-PAGE)//S+2
def plan(ts, lo, hi, f, counts):
    # ts sorted list of times in [lo,hi)
    import bisect
    n = bisect.bisect_left(ts, hi) - bisect.bisect_left(ts, lo)
    if n <= T or hi-lo <= 1:
        return [n] if n else []
    parts = max(2, math.ceil(n*f/T))
    parts = min(parts, 256, hi-lo)
    w = (hi-lo)
    bounds=[lo + w*k//parts for k in range(parts)]+[hi]
    counts[0] += parts-1
    out=[]
    for a,b in zip(bounds, bounds[1:]):
        out += plan(ts, a, b, f, counts)
    return out
def run(ts, f):
    ts.sort()
    counts=[1]
    lo, hi = ts[0], ts[-1]+1
    wins = plan(ts, lo, hi, f, counts)
    pages = sum(pages_for(n) for n in wins)
    return counts[0], pages, counts[0]+pages
def diurnal(n, days):
    out=[]
    while len(out)<n:
        t = random.random()*days*86400000
        h = (t/3600000)%24
        dens = max(0, math.sin((h-8)/10*math.pi)) if 8<=h<=18 else 0.02
        if random.random() < dens: out.append(int(t))
    return out
print("shape [(factor, counts, pages, requests), ...]")
for name, ts in [("uniform16d", [random.randrange(16*86400000) for _ in range(100000)]),
                 ("diurnal1d", diurnal(100000,1)), ("diurnal16d", diurnal(100000,16)),
                 ("diurnal1d_500k", diurnal(500000,1)), ("diurnal30d_1M", diurnal(1000000,30))]:
    print(name, [(f,)+run(list(ts), f) for f in (1.05,1.1,1.25,1.5)])
