#!/usr/bin/env python3
"""The official `openai` Python client against `minimind-v serve` (issue 16's real-client check).

Trains the quick demo model (or reuses --model DIR), starts `minimind-v serve --port 0`, and drives it
with openai's client: a non-streamed and a streamed chat with a PNG data URL, a multi-turn follow-up,
the models list, and an error (unknown model -> openai.NotFoundError). The greedy answers must equal
what `minimind-v caption` (the library's Generator, no server) says about the same image and prompt.
Usage: python3 Scripts/serve_openai_check.py [--bin .build/release/minimind-v] [--model DIR]
"""
import argparse, base64, json, os, re, subprocess, sys, tempfile, time

OPENAI_VERSION = "3.63.0"


def start_server(binary, model, extra=()):
    """`model`: a model folder, or None when `extra` names the weights (--weights/--tokenizer/--preset)."""
    source = ["--model", model] if model else []
    proc = subprocess.Popen([binary, "serve", *source, "--port", "0", "--temperature", "0", *extra],
                            stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 120
    while time.time() < deadline:
        line = proc.stderr.readline()
        if not line:
            break
        m = re.search(r"http://([\d.]+):(\d+)/", line)
        if m:
            return proc, f"http://{m.group(1)}:{m.group(2)}"
    proc.kill()
    sys.exit("the server did not report its address")


def demo_model(binary, out):
    if not os.path.exists(os.path.join(out, "model", "config.json")):
        subprocess.run([binary, "demo", "--quick", "--out", out], check=True, stdout=subprocess.DEVNULL)
    return os.path.join(out, "model"), os.path.join(out, "data", "images", "test-00000.png")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default=".build/release/minimind-v")
    ap.add_argument("--work", default=os.path.join(tempfile.gettempdir(), "minimind-serve-check"))
    args = ap.parse_args()
    import openai
    if openai.__version__ != OPENAI_VERSION:
        sys.exit(f"needs openai=={OPENAI_VERSION} (pip install openai=={OPENAI_VERSION}), found {openai.__version__}")

    model_dir, image = demo_model(args.bin, args.work)
    question = "Describe the image."
    reference = subprocess.run([args.bin, "caption", image, "--model", model_dir, "--greedy", "--max-new-tokens", "48",
                                "--prompt", "<image>\n" + question, "--jsonl"], check=True, capture_output=True, text=True)
    expected = json.loads(reference.stdout.splitlines()[0])["text"]

    proc, base = start_server(args.bin, model_dir, ["--api-key", "sk-check"])
    try:
        client = openai.OpenAI(base_url=base + "/v1", api_key="sk-check")
        model = client.models.list().data[0].id
        url = "data:image/png;base64," + base64.b64encode(open(image, "rb").read()).decode()
        messages = [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": url}},
                                                 {"type": "text", "text": question}]}]
        reply = client.chat.completions.create(model=model, messages=messages, max_tokens=48, temperature=0)
        text = reply.choices[0].message.content
        print(f"non-streamed: {text!r} ({reply.choices[0].finish_reason}, usage {reply.usage.prompt_tokens}+{reply.usage.completion_tokens})")
        assert text == expected, f"server {text!r} != caption {expected!r}"
        assert reply.usage.total_tokens == reply.usage.prompt_tokens + reply.usage.completion_tokens

        pieces, usage, finish = [], None, None
        for chunk in client.chat.completions.create(model=model, messages=messages, max_tokens=48, temperature=0,
                                                    stream=True, stream_options={"include_usage": True}):
            if chunk.usage:
                usage = chunk.usage
            for choice in chunk.choices:
                pieces.append(choice.delta.content or "")
                finish = choice.finish_reason or finish
        print(f"streamed:     {''.join(pieces)!r} in {len(pieces)} chunks ({finish}, usage {usage.completion_tokens})")
        assert "".join(pieces) == text and finish == reply.choices[0].finish_reason
        assert usage.completion_tokens == reply.usage.completion_tokens

        follow = messages + [{"role": "assistant", "content": text}, {"role": "user", "content": "What colour is it?"}]
        second = client.chat.completions.create(model=model, messages=follow, max_tokens=24, temperature=0)
        print(f"follow-up:    {second.choices[0].message.content!r}")

        try:
            client.chat.completions.create(model="gpt-4o", messages=messages, max_tokens=4)
            sys.exit("an unknown model was accepted")
        except openai.NotFoundError as e:
            print(f"unknown model -> {e.status_code} {e.body.get('code') if isinstance(e.body, dict) else e.body}")
        try:
            openai.OpenAI(base_url=base + "/v1", api_key="wrong").models.list()
            sys.exit("a wrong key was accepted")
        except openai.AuthenticationError as e:
            print(f"wrong key -> {e.status_code}")
        print("openai client check: OK")
    finally:
        proc.terminate()
        code = proc.wait(timeout=30)
        assert code == 0, f"serve exited with {code} after SIGTERM"


if __name__ == "__main__":
    main()
