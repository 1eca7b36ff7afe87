#!/usr/bin/env python3
"""N concurrent streaming clients against `minimind-v serve` (issue 16's `bench serve`).

Starts the server (--model DIR, or a running one with --url), then for each N in --clients sends N
identical-length greedy streaming requests at once (each a different question, one image each when
--image is given) and reports aggregate tokens/s, time to first token p50/p95 and the time between
tokens p50/p95, plus the server's resident memory. Standard library only (http.client, threads).
Usage: python3 Scripts/bench_serve.py --model DIR [--image PNG] [--tokens 64] [--clients 1,4,8,16]
       python3 Scripts/bench_serve.py --serve-args "--weights W.safetensors --tokenizer DIR --preset NAME --max-batch 16 --max-queue 64"
"""
import argparse, base64, http.client, json, os, re, statistics, subprocess, sys, threading, time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from serve_openai_check import start_server  # noqa: E402

QUESTIONS = ["Describe the image.", "What is in this picture?", "What colours do you see?", "Where is the largest shape?",
             "Tell me about the image.", "What shapes are there?", "Is there a circle?", "What is at the centre?"]


def one(host, port, body, out):
    conn = http.client.HTTPConnection(host, port, timeout=600)
    start = time.perf_counter()
    conn.request("POST", "/v1/chat/completions", body=json.dumps(body), headers={"Content-Type": "application/json"})
    resp = conn.getresponse()
    assert resp.status == 200, resp.read()
    stamps, buf, tokens = [], b"", 0
    while True:
        line = resp.readline()
        if not line:
            break
        if line.startswith(b"data: ") and not line.startswith(b"data: [DONE]"):
            chunk = json.loads(line[6:])
            if chunk.get("usage"):
                tokens = chunk["usage"]["completion_tokens"]
            elif chunk["choices"] and chunk["choices"][0]["delta"].get("content"):
                stamps.append(time.perf_counter())
    out.append({"ttft": stamps[0] - start if stamps else float("nan"),
                "gaps": [b - a for a, b in zip(stamps, stamps[1:])], "tokens": tokens, "end": time.perf_counter()})


def pct(values, q):
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q / 100 * (len(values) - 1))))] if values else float("nan")


def rss_mb(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            return int(re.search(r"VmRSS:\s+(\d+)", f.read()).group(1)) / 1024
    except OSError:
        return float("nan")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default=".build/release/minimind-v")
    ap.add_argument("--model")
    ap.add_argument("--image")
    ap.add_argument("--tokens", type=int, default=64)
    ap.add_argument("--clients", default="1,4,8,16")
    ap.add_argument("--serve-args", default="--max-batch 16 --max-queue 64")
    args = ap.parse_args()
    proc, base = start_server(args.bin, args.model, args.serve_args.split())
    host, port = re.match(r"http://([\d.]+):(\d+)", base).groups()
    image = None
    if args.image:
        image = "data:image/png;base64," + base64.b64encode(open(args.image, "rb").read()).decode()
    def body(i):
        q = QUESTIONS[i % len(QUESTIONS)]
        content = [{"type": "image_url", "image_url": {"url": image}}, {"type": "text", "text": q}] if image else q
        # No eos: every answer is exactly --tokens long, so runs are comparable.
        return {"model": "x", "messages": [{"role": "user", "content": content}], "max_tokens": args.tokens,
                "temperature": 0, "ignore_eos": True, "stream": True, "stream_options": {"include_usage": True}}
    model = json.loads(subprocess.run(["curl", "-s", base + "/v1/models"], capture_output=True, text=True).stdout)["data"][0]["id"]
    try:
        one(host, int(port), dict(body(0), model=model), [])  # warm-up (and image features cached)
        print(f"| clients | tokens/s (aggregate) | TTFT p50 / p95 (s) | between tokens p50 / p95 (ms) | tokens | server RSS (MB) |")
        print("|---|---|---|---|---|---|")
        for n in [int(x) for x in args.clients.split(",")]:
            out, threads = [], []
            start = time.perf_counter()
            for i in range(n):
                t = threading.Thread(target=one, args=(host, int(port), dict(body(i), model=model), out))
                t.start()
                threads.append(t)
            peak = 0.0
            while any(t.is_alive() for t in threads):
                peak = max(peak, rss_mb(proc.pid))
                time.sleep(0.05)
            wall = max(r["end"] for r in out) - start
            tokens = sum(r["tokens"] for r in out)
            gaps = [g for r in out for g in r["gaps"]]
            ttft = [r["ttft"] for r in out]
            print(f"| {n} | {tokens / wall:.1f} | {pct(ttft, 50):.3f} / {pct(ttft, 95):.3f} | "
                  f"{1000 * pct(gaps, 50):.1f} / {1000 * pct(gaps, 95):.1f} | {tokens} | {peak:.0f} |", flush=True)
    finally:
        proc.terminate()
        proc.wait(timeout=60)


if __name__ == "__main__":
    main()
