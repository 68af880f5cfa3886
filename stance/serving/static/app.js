"use strict";
const NAMES = {
  conciliatory: "تصالحي", hostile: "عدائي", neutral: "محايد",
  positive: "إيجابي", negative: "سلبي",
};
const TASKS = { stance: "الموقف", sentiment: "المشاعر" };
const $ = (id) => document.getElementById(id);
const name = (label) => NAMES[label] || label;
const pct = (x) => `${Math.round(x * 100)}%`;

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "class") node.className = v; else node.setAttribute(k, v);
  }
  for (const c of children) node.append(c);
  return node;
}

// API key: asked for once, when the server answers 401, and kept for this browser session only.
const KEY_SLOT = "stance-api-key";
let keyWanted = null;
let keyGiven = null;

function askForKey(message) {
  if (!keyWanted) {
    keyWanted = new Promise((resolve) => { keyGiven = resolve; });
    $("keyhint").textContent = message;
    $("keyform").hidden = false;
    $("apikey").focus();
  }
  return keyWanted;
}

$("keyform").addEventListener("submit", (event) => {
  event.preventDefault();
  const key = $("apikey").value.trim();
  if (!key || !keyGiven) return;
  sessionStorage.setItem(KEY_SLOT, key);
  $("keyform").hidden = true;
  $("apikey").value = "";
  const given = keyGiven;
  keyWanted = keyGiven = null;
  given();
});

async function api(path, options = {}) {
  for (;;) {
    const key = sessionStorage.getItem(KEY_SLOT);
    const headers = { ...(options.headers || {}) };
    if (key) headers.Authorization = `Bearer ${key}`;
    const res = await fetch(path, { ...options, headers });
    if (res.status !== 401) return res;
    sessionStorage.removeItem(KEY_SLOT);
    await askForKey(key ? "المفتاح غير صالح" : "");
  }
}

async function loadTasks() {
  const select = $("task");
  try {
    const res = await api("/v1/models");
    const body = await res.json();
    for (const m of body.models) select.append(el("option", { value: m.task }, TASKS[m.task] || m.task));
  } catch (e) { /* the option list stays empty; submit shows the error */ }
  if (!select.options.length) select.append(el("option", { value: "stance" }, TASKS.stance));
}

// The sentence with each word shaded by its weight: the label's colour where it supports the label,
// the runner-up label's colour where it opposes it. Offsets count code points (Python): slice code points.
function explainedText(s) {
  const chars = Array.from(s.text);
  const runnerUp = Object.entries(s.scores).filter(([l]) => l !== s.label).sort((a, b) => b[1] - a[1])[0];
  const top = Math.max(1e-9, ...s.words.map((w) => Math.abs(w.weight)));
  const p = el("p", { class: "text explained" });
  let at = 0;
  for (const w of s.words) {
    p.append(chars.slice(at, w.start).join(""));
    const strength = Math.round((Math.abs(w.weight) / top) * 55);
    const span = el("span", { class: `w ${w.weight >= 0 ? "support" : "oppose"}`,
      "data-weight": String(w.weight), title: w.weight.toFixed(3) }, chars.slice(w.start, w.end).join(""));
    const against = runnerUp ? runnerUp[0] : "neutral";
    const colour = `var(--${w.weight >= 0 ? s.label : against}, var(--neutral))`;
    span.style.backgroundColor = `color-mix(in srgb, ${colour} ${strength}%, transparent)`;
    p.append(span);
    at = w.end;
  }
  p.append(chars.slice(at).join(""));
  return p;
}

function renderSentence(s) {
  const scores = el("div", { class: "scores" });
  for (const [label, p] of Object.entries(s.scores).sort((a, b) => b[1] - a[1])) {
    scores.append(el("span", { "data-label": label }, `${name(label)} ${pct(p)}`));
  }
  return el("li", { class: `sentence label-${s.label}`, "data-label": s.label },
    s.words ? explainedText(s) : el("p", { class: "text" }, s.text),
    el("span", { class: `badge bg-${s.label}` }, name(s.label)), " ", scores);
}

function renderSummary(summary) {
  const box = $("summary");
  box.replaceChildren();
  box.hidden = false;
  box.append(el("div", {}, `عدد الجمل: ${summary.sentences} — الغالب: `,
    el("strong", { id: "dominant", "data-label": summary.dominant || "" }, name(summary.dominant || "—"))));
  const bar = el("div", { class: "bar", "aria-hidden": "true" });
  const counts = el("div", { class: "scores" });
  for (const [label, share] of Object.entries(summary.shares)) {
    const part = el("span", { class: `bg-${label}` });
    part.style.width = pct(share);
    bar.append(part);
    counts.append(el("span", {}, `${name(label)}: ${summary.counts[label]} (${pct(share)})`));
  }
  box.append(bar, counts);
  for (const [key, value] of Object.entries(summary)) {
    if (key.startsWith("most_") && value) {
      const label = key.slice(5);
      box.append(el("p", {}, el("span", { class: `badge bg-${label}` }, `الأكثر ${name(label)}`), " ", value.text));
    }
  }
}

async function submit(event) {
  event.preventDefault();
  const text = $("text").value.trim();
  if (!text) return;
  $("submit").disabled = true;
  $("status").textContent = "جارٍ التحليل…";
  try {
    const res = await api("/v1/classify/article", {
      method: "POST", headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ text, task: $("task").value, explain: $("explain").checked }),
    });
    const body = await res.json();
    if (!res.ok) throw new Error(body.error ? body.error.message : res.statusText);
    $("sentences").replaceChildren(...body.sentences.map(renderSentence));
    renderSummary(body.summary);
    $("legend").hidden = !body.sentences.some((s) => s.words);
    $("status").textContent = "";
  } catch (e) {
    $("status").textContent = `خطأ: ${e.message}`;
  } finally {
    $("submit").disabled = false;
  }
}

$("form").addEventListener("submit", submit);
loadTasks();
