// neuvis raycast page: orbit by dragging, zoom with the wheel; frames stream progressively.
"use strict";
const $ = (id) => document.getElementById(id);
const view = { theta: 60, phi: 30, zoom: 1, iso: 0 };
let seq = 0;
let shownSeq = -1;
let shownPass = -1;
let polling = false;

function fmtMs(v) { return v === null || v === undefined ? "–" : `${Number(v).toFixed(0)} ms`; }

function show() {
  $("theta").textContent = view.theta.toFixed(0);
  $("phi").textContent = view.phi.toFixed(0);
  $("zoom").textContent = view.zoom.toFixed(2);
}

async function request() {
  seq += 1;
  const q = new URLSearchParams({ seq, theta: view.theta, phi: view.phi, zoom: view.zoom, iso: view.iso });
  show();
  try {
    const r = await fetch(`/api/render?${q}`);
    if (!r.ok) { $("error").textContent = await r.text(); return; }
    $("error").textContent = "";
  } catch (e) { $("error").textContent = String(e); return; }
  if (!polling) poll();
}

async function poll() {
  polling = true;
  try {
    for (;;) {
      const want = seq;
      const r = await fetch(`/api/frame?seq=${want}&after=${shownSeq === want ? shownPass : -1}`);
      if (r.status === 204) { await new Promise((ok) => setTimeout(ok, 50)); continue; }
      if (!r.ok) { $("error").textContent = await r.text(); break; }
      const h = (k) => r.headers.get(k);
      const blob = await r.blob();
      const url = URL.createObjectURL(blob);
      const img = $("frame");
      const old = img.src;
      img.src = url;
      if (old) URL.revokeObjectURL(old);
      shownSeq = Number(h("x-neuvis-seq"));
      shownPass = Number(h("x-neuvis-pass"));
      const done = h("x-neuvis-converged") === "1";
      $("progress").textContent = done ? "converged" : `pass ${shownPass + 1}…`;
      $("passes").textContent = String(shownPass + 1);
      $("firsttime").textContent = fmtMs(h("x-neuvis-first-ms"));
      $("frametime").textContent = fmtMs(h("x-neuvis-frame-ms"));
      $("cache").textContent = `${h("x-neuvis-cache-hits")} / ${h("x-neuvis-cache-misses")}`;
      $("resident").textContent = `${h("x-neuvis-resident-mb")} MB (budget ${h("x-neuvis-budget-mb")})`;
      $("rss").textContent = `${h("x-neuvis-rss-mb")} MB`;
      if (done && shownSeq === seq) break;
    }
  } finally {
    polling = false;
  }
}

let drag = null;
$("frame").addEventListener("pointerdown", (e) => {
  drag = { x: e.clientX, y: e.clientY, theta: view.theta, phi: view.phi };
  try { $("frame").setPointerCapture(e.pointerId); } catch (_) { /* synthetic pointers */ }
});
$("frame").addEventListener("pointermove", (e) => {
  if (!drag) return;
  const dx = e.clientX - drag.x, dy = e.clientY - drag.y;
  const phi = (((drag.phi - dx * 0.5) % 360) + 360) % 360;
  const theta = Math.min(179, Math.max(1, drag.theta - dy * 0.5));
  if (Math.abs(phi - view.phi) + Math.abs(theta - view.theta) >= 2) {
    view.phi = phi; view.theta = theta;
    request();
  }
});
$("frame").addEventListener("pointerup", () => { drag = null; });
$("frame").addEventListener("wheel", (e) => {
  e.preventDefault();
  view.zoom = Math.min(8, Math.max(0.5, view.zoom * (e.deltaY < 0 ? 1.15 : 1 / 1.15)));
  request();
}, { passive: false });
$("iso").addEventListener("change", () => {
  const v = Number($("iso").value);
  if (Number.isFinite(v)) { view.iso = v; request(); }
});

(async () => {
  const r = await fetch("/api/info");
  const info = await r.json();
  view.iso = info.iso; view.theta = info.theta; view.phi = info.phi;
  $("iso").value = Number(info.iso.toPrecision(6));
  $("storeinfo").textContent = `${info.source} · method ${info.method} on the ${info.device} · store ${info.store_mb.toFixed(1)} MB`;
  request();
})();
