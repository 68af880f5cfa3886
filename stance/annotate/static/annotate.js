"use strict";
const NAMES = {
  conciliatory: "تصالحي", hostile: "عدائي", neutral: "محايد",
  positive: "إيجابي", negative: "سلبي",
};
const $ = (id) => document.getElementById(id);
const name = (label) => NAMES[label] || label;
const pct = (x) => `${Math.round(x * 100)}%`;
const state = { labels: [], keys: {}, current: null, busy: false };

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "class") node.className = v; else node.setAttribute(k, v);
  }
  for (const c of children) node.append(c);
  return node;
}

function annotator() { return $("annotator").value.trim(); }

async function api(path, body) {
  const options = body === undefined ? {} : {
    method: "POST", headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ ...body, annotator: annotator() || undefined }),
  };
  const res = await fetch(path, options);
  const data = await res.json();
  return { ok: res.ok, status: res.status, data };
}

function setupKeys(labels) {
  state.labels = labels;
  state.keys = {};
  const initials = {};
  labels.forEach((label, i) => {
    if (i < 9) state.keys[String(i + 1)] = label;
    const first = label[0].toLowerCase();
    initials[first] = initials[first] ? null : label;
  });
  for (const [key, label] of Object.entries(initials)) {
    if (label && key !== "s" && key !== "u" && !(key in state.keys)) state.keys[key] = label;
  }
  const box = $("buttons");
  box.replaceChildren();
  labels.forEach((label) => {
    const keys = Object.entries(state.keys).filter(([, l]) => l === label).map(([k]) => k);
    const button = el("button", { type: "button", class: `bg-${label}`, "data-label": label }, name(label), " ");
    for (const k of keys) button.append(el("kbd", {}, k), " ");
    button.addEventListener("click", () => give(label));
    box.append(button);
  });
}

function renderStats(stats) {
  const bar = $("bar");
  bar.replaceChildren();
  const counts = $("counts");
  counts.replaceChildren();
  const total = stats.total || 1;
  const given = Object.values(stats.counts).reduce((a, b) => a + b, 0) || 1;
  for (const label of stats.labels) {
    const part = el("span", { class: `bg-${label}` });
    part.style.width = pct((stats.labelled / total) * (stats.counts[label] / given));
    bar.append(part);
  }
  counts.append(el("span", { id: "progress-text" }, `موسوم ${stats.labelled} من ${stats.total}`));
  for (const label of stats.labels) {
    counts.append(el("span", { "data-label": label, class: "count" }, `${name(label)}: ${stats.counts[label]}`));
  }
  if (stats.skipped) counts.append(el("span", {}, `متخطّى: ${stats.skipped}`));
  if (stats.scorer && stats.scorer.error) counts.append(el("span", {}, `النموذج: ${stats.scorer.error}`));
  else if (stats.scorer && stats.scored < stats.total) counts.append(el("span", {}, `قيّم النموذج ${stats.scored}`));
}

async function refreshStats() {
  const who = annotator();
  const { ok, data } = await api(`/api/stats${who ? `?annotator=${encodeURIComponent(who)}` : ""}`);
  if (!ok) return;
  if (!state.labels.length) {
    setupKeys(data.labels);
    if (!annotator()) $("annotator").placeholder = data.annotator;
  }
  renderStats(data);
}

function show(item) {
  state.current = item;
  const card = $("card");
  card.hidden = false;
  card.className = "sentence";
  $("statement").textContent = item.text;
  $("statement").dataset.id = item.id;
  const box = $("scores");
  box.replaceChildren();
  const badge = $("suggestion");
  if (item.suggestion) {
    badge.textContent = name(item.suggestion);
    badge.className = `badge bg-${item.suggestion}`;
    badge.dataset.label = item.suggestion;
    for (const [label, p] of Object.entries(item.scores).sort((a, b) => b[1] - a[1])) {
      box.append(el("span", { "data-label": label }, `${name(label)} ${pct(p)}`));
    }
  } else {
    badge.textContent = "…";
    badge.className = "badge bg-neutral";
    badge.dataset.label = "";
  }
}

async function loadNext() {
  const who = annotator();
  const { ok, status, data } = await api(`/api/next${who ? `?annotator=${encodeURIComponent(who)}` : ""}`);
  if (ok) {
    show(data);
    $("status").textContent = "";
  } else {
    state.current = null;
    $("card").hidden = true;
    $("status").textContent = status === 404 ? `انتهى: ${data.error.message}` : `خطأ: ${data.error.message}`;
    $("status").className = status === 404 ? "done" : "";
  }
}

// One action at a time; the busy flag is cleared as soon as the next statement is shown (the progress bar
// refreshes afterwards), so keys pressed at typing speed are not lost, and a key never labels a statement
// that is not on the screen yet.
async function act(work) {
  if (state.busy) return;
  state.busy = true;
  document.body.dataset.busy = "1";
  try {
    await work();
  } catch (e) {
    $("status").textContent = `خطأ: ${e.message}`;
  } finally {
    state.busy = false;
    delete document.body.dataset.busy;
  }
  refreshStats().catch(() => {});
}

function give(label) {
  if (!state.current) return;
  const id = state.current.id;
  act(async () => {
    const { ok, data } = await api("/api/label", { id, label });
    if (!ok) throw new Error(data.error.message);
    await loadNext();
  });
}

function skip() {
  if (!state.current) return;
  const id = state.current.id;
  act(async () => {
    const { ok, data } = await api("/api/skip", { id });
    if (!ok) throw new Error(data.error.message);
    await loadNext();
  });
}

function undo() {
  act(async () => {
    const { ok, data } = await api("/api/undo", {});
    if (!ok) throw new Error(data.error.message);
    show(data);
    $("status").textContent = data.undone.label ? `أُلغي الوسم: ${name(data.undone.label)}` : "أُلغي التخطي";
    $("status").className = "";
  });
}

document.addEventListener("keydown", (event) => {
  if (event.target instanceof HTMLInputElement && event.target.type !== "checkbox") return;
  if (event.ctrlKey || event.metaKey || event.altKey) return;
  const key = event.key.toLowerCase().replace(/[٠-٩]/g, (d) => String(d.charCodeAt(0) - 0x660));
  if (key in state.keys) { event.preventDefault(); give(state.keys[key]); }
  else if (key === "s") { event.preventDefault(); skip(); }
  else if (key === "u") { event.preventDefault(); undo(); }
});

$("skip").addEventListener("click", skip);
$("undo").addEventListener("click", undo);
$("blind").addEventListener("change", () => {
  document.body.classList.toggle("blind", $("blind").checked);
  localStorage.setItem("stance-annotate-blind", $("blind").checked ? "1" : "");
});
$("annotator").addEventListener("change", () => {
  localStorage.setItem("stance-annotate-name", annotator());
  act(loadNext);
});

$("annotator").value = localStorage.getItem("stance-annotate-name") || "";
$("blind").checked = !!localStorage.getItem("stance-annotate-blind");
document.body.classList.toggle("blind", $("blind").checked);
refreshStats().catch(() => {}).then(() => act(loadNext));
