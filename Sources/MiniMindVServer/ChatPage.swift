// The chat page served at `/`: one self-contained HTML file (no CDN, works offline) that talks to
// /v1/chat/completions like any client — pick, drop or paste images, streamed answers, multi-turn
// with reset, a stop button, sampling settings, and time to first token and tokens/s per answer.
enum ChatPage {
    static let html = #"""
<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>MiniMind-V</title>
<style>
  :root { --fg:#1d2330; --muted:#6b7280; --line:#d9dee7; --accent:#2f6fde; --bg:#f6f7f9; }
  * { box-sizing: border-box; }
  body { margin:0; font:15px/1.45 system-ui, sans-serif; color:var(--fg); background:var(--bg); }
  header { display:flex; gap:12px; align-items:center; padding:10px 16px; background:#fff; border-bottom:1px solid var(--line); }
  header h1 { font-size:17px; margin:0; }
  header .model { color:var(--muted); font-size:13px; }
  main { max-width:860px; margin:0 auto; padding:12px 16px 180px; }
  .turn { margin:12px 0; }
  .user, .assistant { padding:10px 12px; border-radius:10px; white-space:pre-wrap; word-wrap:break-word; }
  .user { background:#e7effd; margin-left:15%; }
  .assistant { background:#fff; border:1px solid var(--line); margin-right:15%; min-height:1.5em; }
  .stats { color:var(--muted); font-size:12px; margin:3px 2px; }
  .error { color:#b42318; }
  .thumbs { display:flex; gap:6px; flex-wrap:wrap; margin-bottom:6px; }
  .thumbs img { height:64px; border-radius:6px; border:1px solid var(--line); }
  .thumbs .x { position:relative; }
  .thumbs .x button { position:absolute; top:2px; right:2px; border:0; border-radius:50%; width:20px; height:20px; cursor:pointer; }
  footer { position:fixed; bottom:0; left:0; right:0; background:#fff; border-top:1px solid var(--line); padding:10px 16px; }
  footer .inner { max-width:860px; margin:0 auto; }
  #drop { border:2px dashed var(--line); border-radius:10px; padding:8px; }
  #drop.over { border-color:var(--accent); background:#eef4ff; }
  textarea { width:100%; min-height:56px; resize:vertical; border:0; outline:none; font:inherit; background:transparent; }
  .row { display:flex; gap:8px; align-items:center; flex-wrap:wrap; margin-top:6px; }
  button.main { background:var(--accent); color:#fff; border:0; border-radius:8px; padding:7px 16px; font:inherit; cursor:pointer; }
  button.main:disabled { opacity:.5; cursor:default; }
  button.plain { background:#fff; border:1px solid var(--line); border-radius:8px; padding:6px 12px; font:inherit; cursor:pointer; }
  details { font-size:13px; }
  details label { margin-right:10px; }
  details input { width:70px; }
  details input.key { width:180px; }
</style>
</head>
<body>
<header><h1>MiniMind-V</h1><span class="model" id="model">connecting…</span></header>
<main id="log"></main>
<footer><div class="inner">
  <div id="drop">
    <div class="thumbs" id="thumbs"></div>
    <textarea id="q" placeholder="Ask about an image: pick, drop or paste one (Enter sends, Shift+Enter is a new line)"></textarea>
  </div>
  <div class="row">
    <button class="main" id="send">Send</button>
    <button class="plain" id="stop" disabled>Stop</button>
    <button class="plain" id="pick">Image…</button>
    <button class="plain" id="reset">Reset</button>
    <input type="file" id="file" accept="image/png,image/jpeg" multiple hidden>
    <details><summary>Settings</summary>
      <label>temperature <input id="temperature" type="number" step="0.05" min="0" max="2" value="0.7"></label>
      <label>top_p <input id="top_p" type="number" step="0.05" min="0.05" max="1" value="0.85"></label>
      <label>top_k <input id="top_k" type="number" step="1" min="0" value="50"></label>
      <label>max_tokens <input id="max_tokens" type="number" step="1" min="1" value="256"></label>
      <label>seed <input id="seed" type="number" step="1" placeholder="random"></label>
      <label>system <input id="system" class="key" placeholder="(template default)"></label>
      <label>API key <input id="key" class="key" type="password" placeholder="if the server needs one"></label>
    </details>
  </div>
</div></footer>
<script>
"use strict";
const $ = (id) => document.getElementById(id);
let modelId = null, messages = [], pending = [], controller = null;

async function loadModel() {
  try {
    const r = await fetch("/v1/models", { headers: auth() });
    const j = await r.json();
    if (!r.ok) throw new Error(j.error ? j.error.message : r.statusText);
    modelId = j.data[0].id;
    $("model").textContent = modelId;
  } catch (e) { $("model").textContent = "model list unavailable: " + e.message; }
}
function auth() {
  const key = $("key").value.trim() || localStorage.getItem("minimind-key") || "";
  return key ? { "Authorization": "Bearer " + key } : {};
}
$("key").addEventListener("change", () => { localStorage.setItem("minimind-key", $("key").value.trim()); loadModel(); });

function addImages(files) {
  for (const f of files) {
    if (!/^image\/(png|jpeg)$/.test(f.type)) { note("only PNG and JPEG images are accepted (" + (f.type || f.name) + ")"); continue; }
    const reader = new FileReader();
    reader.onload = () => { pending.push(reader.result); drawThumbs(); };
    reader.readAsDataURL(f);
  }
}
function drawThumbs() {
  const t = $("thumbs"); t.innerHTML = "";
  pending.forEach((url, i) => {
    const d = document.createElement("span"); d.className = "x";
    const img = document.createElement("img"); img.src = url; img.alt = "attached image " + (i + 1);
    const b = document.createElement("button"); b.textContent = "×"; b.title = "remove";
    b.onclick = () => { pending.splice(i, 1); drawThumbs(); };
    d.append(img, b); t.append(d);
  });
}
$("pick").onclick = () => $("file").click();
$("file").onchange = (e) => { addImages(e.target.files); e.target.value = ""; };
const drop = $("drop");
drop.addEventListener("dragover", (e) => { e.preventDefault(); drop.classList.add("over"); });
drop.addEventListener("dragleave", () => drop.classList.remove("over"));
drop.addEventListener("drop", (e) => { e.preventDefault(); drop.classList.remove("over"); addImages(e.dataTransfer.files); });
document.addEventListener("paste", (e) => {
  const files = [...(e.clipboardData || {}).items || []].filter((i) => i.kind === "file").map((i) => i.getAsFile());
  if (files.length) { e.preventDefault(); addImages(files); }
});
$("q").addEventListener("keydown", (e) => { if (e.key === "Enter" && !e.shiftKey) { e.preventDefault(); send(); } });
$("send").onclick = send;
$("stop").onclick = () => { if (controller) controller.abort(); };
$("reset").onclick = () => { if (controller) controller.abort(); messages = []; pending = []; drawThumbs(); $("log").innerHTML = ""; };

function note(text) {
  const d = document.createElement("div"); d.className = "stats error"; d.textContent = text; $("log").append(d);
}
function bubble(cls, text, images) {
  const turn = document.createElement("div"); turn.className = "turn";
  const b = document.createElement("div"); b.className = cls;
  if (images && images.length) {
    const t = document.createElement("div"); t.className = "thumbs";
    for (const url of images) { const img = document.createElement("img"); img.src = url; t.append(img); }
    b.append(t);
  }
  b.append(document.createTextNode(text));
  turn.append(b); $("log").append(turn); window.scrollTo(0, document.body.scrollHeight);
  return turn;
}
function number(id, integer) {
  const v = $(id).value.trim(); if (v === "") return undefined;
  const n = integer ? parseInt(v, 10) : parseFloat(v); return Number.isFinite(n) ? n : undefined;
}

async function send() {
  const text = $("q").value.trim();
  if (controller || (!text && !pending.length)) return;
  if (!modelId) await loadModel();
  const content = pending.map((url) => ({ type: "image_url", image_url: { url } }));
  if (text) content.push({ type: "text", text });
  const userMessage = { role: "user", content: pending.length ? content : text };
  bubble("user", text, pending);
  $("q").value = ""; const sentImages = pending; pending = []; drawThumbs();
  const system = $("system").value.trim();
  const body = { model: modelId, stream: true, stream_options: { include_usage: true },
    messages: (system ? [{ role: "system", content: system }] : []).concat(messages, [userMessage]),
    temperature: number("temperature"), top_p: number("top_p"), top_k: number("top_k", true),
    max_tokens: number("max_tokens", true), seed: number("seed", true) };
  const turn = bubble("assistant", "");
  const out = turn.querySelector(".assistant"); out.setAttribute("data-streaming", "1");
  const stats = document.createElement("div"); stats.className = "stats"; turn.append(stats);
  controller = new AbortController(); $("send").disabled = true; $("stop").disabled = false;
  const start = performance.now(); let first = null, pieces = 0, answer = "", usage = null, finish = null;
  try {
    const r = await fetch("/v1/chat/completions", { method: "POST", signal: controller.signal,
      headers: Object.assign({ "Content-Type": "application/json" }, auth()), body: JSON.stringify(body) });
    if (!r.ok) { const j = await r.json().catch(() => null); throw new Error(j && j.error ? j.error.message : r.status + " " + r.statusText); }
    const reader = r.body.getReader(), decoder = new TextDecoder(); let buffer = "";
    for (;;) {
      const { value, done } = await reader.read(); if (done) break;
      buffer += decoder.decode(value, { stream: true });
      let cut;
      while ((cut = buffer.indexOf("\n\n")) >= 0) {
        const event = buffer.slice(0, cut); buffer = buffer.slice(cut + 2);
        if (!event.startsWith("data: ")) continue;
        const data = event.slice(6); if (data === "[DONE]") continue;
        const chunk = JSON.parse(data);
        if (chunk.error) throw new Error(chunk.error.message);
        if (chunk.usage) usage = chunk.usage;
        const choice = chunk.choices && chunk.choices[0]; if (!choice) continue;
        if (choice.finish_reason) finish = choice.finish_reason;
        const piece = choice.delta && choice.delta.content;
        if (piece) { if (first === null) first = performance.now(); pieces++; answer += piece; out.textContent = answer; window.scrollTo(0, document.body.scrollHeight); }
      }
    }
  } catch (e) {
    if (e.name !== "AbortError") { const d = document.createElement("div"); d.className = "error"; d.textContent = "error: " + e.message; turn.append(d); }
    else finish = "stopped";
  } finally {
    controller = null; $("send").disabled = false; $("stop").disabled = true; out.removeAttribute("data-streaming");
  }
  const end = performance.now();
  const tokens = usage ? usage.completion_tokens : pieces;
  const ttft = first === null ? null : (first - start) / 1000;
  const rate = first !== null && tokens > 1 && end > first ? (tokens - 1) / ((end - first) / 1000) : null;
  stats.textContent = (ttft === null ? "no tokens" : "first token " + ttft.toFixed(2) + " s")
    + (rate === null ? "" : " · " + rate.toFixed(1) + " tokens/s") + " · " + tokens + " tokens"
    + (finish ? " · " + finish : "");
  if (answer) { messages.push(userMessage, { role: "assistant", content: answer }); }
  void sentImages;
}
loadModel();
</script>
</body>
</html>
"""#
}
