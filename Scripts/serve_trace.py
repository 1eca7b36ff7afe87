#!/usr/bin/env python3
"""Where time to first token goes, from a serving timeline (Docs/Serving.md, "Where time to first token goes").

Run `MINIMIND_SERVE_TRACE=FILE minimind-v bench serve ...` (the server it starts inherits the variable;
both append to FILE), then `python3 Scripts/serve_trace.py FILE`. For every burst of two or more
requests sent together it prints, in milliseconds from the first request sent:
  arrived  the last request queued by the server (client send, connection, HTTP, parsing, tokenising)
  taken    the scheduler took the last of them into the batch (during the gather's wait, which
           prepares their prefill while the rest arrive)
  forward  start and length of the forward that prefilled the last of them (`steps` prefill steps in all)
  first    the last client read its first token (after the forward: hand-over, SSE write, client read)
With --detail it prints, for every group of requests sent together (one request too), every kind of
event with its first and last time and how often it happened, instead.
Standard library only.
"""
import re
import sys


def events(path):
    out = []
    for line in open(path, encoding="utf-8"):
        stamp, _, event = line.rstrip("\n").partition(" ")
        out.append((float(stamp), event))
    return out


def bursts(evs, window=0.05):
    """Indices of `client sent` lines, grouped when sent within `window` seconds of the group's first."""
    groups = []
    for i, (t, e) in enumerate(evs):
        if not e.startswith("client sent"):
            continue
        if groups and t - evs[groups[-1][0]][0] < window:
            groups[-1].append(i)
        else:
            groups.append([i])
    return groups


def split(evs, group):
    t0, n = evs[group[0]][0], len(group)
    seen, queued, taken, forwards, firsts = 0, None, None, [], []
    for t, e in evs[group[0]:]:
        if seen == n:
            break
        if e.startswith("submitted"):
            queued = t
        elif e.startswith("take"):
            taken = t
        elif e.startswith("forward decode=") and not e.endswith("chunks=[]"):
            forwards.append([t, None])
        elif e == "forward end" and forwards and forwards[-1][1] is None:
            forwards[-1][1] = t
        elif e.startswith("client first"):
            seen += 1
            firsts.append(t)
    if not forwards or forwards[-1][1] is None or queued is None or taken is None or seen < n:
        return None
    start, end = forwards[-1]
    ms = lambda t: 1000 * (t - t0)
    return dict(clients=n, arrived=ms(queued), taken=ms(taken), forward_start=ms(start), forward=1000 * (end - start),
                steps=len(forwards), first=ms(max(firsts)), after_forward=1000 * (max(firsts) - end))


def timeline(evs, group):
    """The burst's events in ms from its first request sent, until its last client read a first token:
    each kind of event once, with the first and last time it happened (and how often)."""
    t0, n, seen, kinds = evs[group[0]][0], len(group), 0, {}
    for t, e in evs[group[0]:]:
        if seen == n:
            break
        kind = re.split(r" \w+=", e, maxsplit=1)[0]  # the event's name, without its fields (t=, jobs=, …)
        if e.startswith("forward decode="):
            kind = "forward (prefill)" if not e.endswith("chunks=[]") else "forward (decode only)"
        first, last, count = kinds.get(kind, (t, t, 0))
        kinds[kind] = (first, t, count + 1)
        if e.startswith("client first"):
            seen += 1
    return [(k, 1000 * (a - t0), 1000 * (b - t0), c) for k, (a, b, c) in sorted(kinds.items(), key=lambda kv: kv[1][0])]


def main():
    detail = "--detail" in sys.argv[1:]
    args = [a for a in sys.argv[1:] if a != "--detail"]
    if len(args) != 1:
        sys.exit("usage: serve_trace.py [--detail] TRACE-FILE")
    evs = events(args[0])
    if detail:
        for group in bursts(evs):
            print(f"burst of {len(group)}: event, first and last (ms from the first request sent), count")
            for kind, a, b, c in timeline(evs, group):
                print(f"  {kind:28s} {a:8.2f} {b:8.2f} {c:4d}")
        return
    print("| clients | arrived | taken | forward start | forward | prefill steps | last first token | after the forward |")
    print("|---|---|---|---|---|---|---|---|")
    for group in bursts(evs):
        if len(group) < 2:
            continue
        r = split(evs, group)
        if r is None:
            continue
        print(f"| {r['clients']} | {r['arrived']:.2f} | {r['taken']:.2f} | {r['forward_start']:.2f} | {r['forward']:.2f} | "
              f"{r['steps']} | {r['first']:.2f} | {r['after_forward']:.2f} |")


if __name__ == "__main__":
    main()
