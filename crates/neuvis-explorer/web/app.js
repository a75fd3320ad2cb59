// neuvis explorer page: pick a model, move through (t, θ, φ), animate one parameter, compare.
'use strict';

const AXES = ['t', 'theta', 'phi'];
const $ = (id) => document.getElementById(id);
const state = {
  models: [],
  model: null,
  value: { t: 0, theta: 0, phi: 0 },
  free: false,
  playing: false,
  busy: false,
  pending: false,
  animAxis: 'phi',
  fps: 15,
  shown: [],
  urls: {},
  maxDeltaE: 40,
};

// The view in the address bar (?model=NAME&t=…&theta=…&phi=…&view=side&free=1), so a view can be
// bookmarked, shared or reloaded.
function readUrl() {
  const p = new URLSearchParams(window.location.search);
  const num = (k) => (p.has(k) && Number.isFinite(Number(p.get(k))) ? Number(p.get(k)) : null);
  return { model: p.get('model'), t: num('t'), theta: num('theta'), phi: num('phi'), view: p.get('view'),
    free: p.get('free') === '1' };
}

function writeUrl() {
  if (!state.model) return;
  const v = state.value;
  const p = new URLSearchParams({ model: state.model.name, t: fmt(v.t), theta: fmt(v.theta), phi: fmt(v.phi),
    view: $('viewmode').value });
  if (state.free) p.set('free', '1');
  window.history.replaceState(null, '', '?' + p.toString());
}

function gridOf(axis) {
  const m = state.model;
  return axis === 't' ? m.times : axis === 'theta' ? m.thetas : m.phis;
}

function rangeOf(axis) {
  const g = gridOf(axis);
  if (axis === 'phi') return [0, 360];
  if (axis === 't') return [state.model.time_range[0], state.model.time_range[1]];
  return [Math.min(0, g[0]), Math.max(180, g[g.length - 1])];
}

function nearestIndex(axis, v) {
  const g = gridOf(axis);
  let best = 0;
  for (let i = 1; i < g.length; i++) if (Math.abs(g[i] - v) < Math.abs(g[best] - v)) best = i;
  return best;
}

function onGrid() {
  return AXES.every((a) => gridOf(a).some((x) => Math.abs(x - state.value[a]) < 1e-6));
}

function fmt(v) {
  return Number.isInteger(v) ? String(v) : v.toFixed(3).replace(/0+$/, '');
}

function setupSliders() {
  for (const a of AXES) {
    const s = $('s-' + a);
    const n = $('n-' + a);
    if (state.free) {
      const [lo, hi] = rangeOf(a);
      s.min = lo; s.max = hi; s.step = 'any';
      s.value = state.value[a];
    } else {
      const g = gridOf(a);
      s.min = 0; s.max = g.length - 1; s.step = 1;
      state.value[a] = g[nearestIndex(a, state.value[a])];
      s.value = nearestIndex(a, state.value[a]);
    }
    n.value = fmt(state.value[a]);
  }
}

function syncControls() {
  for (const a of AXES) {
    $('s-' + a).value = state.free ? state.value[a] : nearestIndex(a, state.value[a]);
    $('n-' + a).value = fmt(state.value[a]);
  }
}

function setValue(axis, v) {
  const [lo, hi] = rangeOf(axis);
  if (axis === 'phi') v = ((v % 360) + 360) % 360;
  else v = Math.min(hi, Math.max(lo, v));
  if (!state.free) v = gridOf(axis)[nearestIndex(axis, v)];
  state.value[axis] = v;
  syncControls();
  requestFrame();
}

function stepValue(axis, dir) {
  const g = gridOf(axis);
  let i = nearestIndex(axis, state.value[axis]) + dir;
  if (axis === 'phi') i = (i + g.length) % g.length;
  else if (state.playing && axis === state.animAxis) i = (i + g.length) % g.length;
  else i = Math.min(g.length - 1, Math.max(0, i));
  state.value[axis] = g[i];
  syncControls();
  requestFrame();
}

function query() {
  const v = state.value;
  let q = `model=${state.model.id}&t=${v.t}&theta=${v.theta}&phi=${v.phi}`;
  if (state.playing) q += `&anim=${state.animAxis}&dir=1`;
  return q;
}

function showError(msg) {
  const e = $('error');
  e.textContent = msg || '';
  e.hidden = !msg;
}

async function fetchImage(kind, q) {
  const r = await fetch(`/api/${kind}?${q}`);
  if (!r.ok) {
    let msg = r.statusText;
    try { msg = (await r.json()).error; } catch (_) { /* not JSON */ }
    throw new Error(`${kind}: ${msg}`);
  }
  return { blob: await r.blob(), headers: r.headers };
}

function setImage(kind, blob) {
  if (state.urls[kind]) URL.revokeObjectURL(state.urls[kind]);
  state.urls[kind] = URL.createObjectURL(blob);
  $('img-' + kind).src = state.urls[kind];
}

function needReference() {
  return state.model.has_reference && $('viewmode').value !== 'decoded';
}

async function requestFrame() {
  if (!state.model) return;
  if (state.busy) { state.pending = true; return; }
  state.busy = true;
  state.pending = false;
  const q = query();
  try {
    const { blob, headers } = await fetchImage('frame', q);
    setImage('decoded', blob);
    $('decode-ms').textContent = headers.get('x-neuvis-decode-ms');
    $('request-ms').textContent = headers.get('x-neuvis-request-ms');
    $('cache').textContent = headers.get('x-neuvis-cache');
    const psnr = headers.get('x-neuvis-psnr');
    $('psnr').textContent = psnr ? psnr + ' dB' : '–';
    $('unseen').hidden = headers.get('x-neuvis-unseen') !== '1';
    const now = performance.now();
    state.shown.push(now);
    state.shown = state.shown.filter((t) => now - t < 1000);
    $('fps').textContent = state.shown.length;
    if (needReference() && onGrid()) {
      const [ref, diff] = await Promise.all([fetchImage('reference', q), fetchImage('diff', q)]);
      setImage('reference', ref.blob);
      setImage('diff', diff.blob);
    }
    updateLayout();
    writeUrl();
    showError('');
  } catch (e) {
    showError(e.message);
  } finally {
    state.busy = false;
    if (state.pending) requestFrame();
  }
}

function updateLayout() {
  const mode = $('viewmode').value;
  const ref = state.model && state.model.has_reference && onGrid();
  $('fig-reference').hidden = !(ref && mode === 'side');
  $('fig-diff').hidden = !(ref && mode === 'side');
}

let flipShowsReference = false;
function flip() {
  if ($('viewmode').value !== 'flip' || !state.urls.reference || !onGrid()) return;
  flipShowsReference = !flipShowsReference;
  $('img-decoded').src = flipShowsReference ? state.urls.reference : state.urls.decoded;
  $('fig-decoded').querySelector('figcaption').firstChild.textContent = flipShowsReference ? 'reference ' : 'decoded ';
}

function selectModel(id, from) {
  state.model = state.models.find((m) => m.id === Number(id));
  const m = state.model;
  // a reference collection: open on the side-by-side view (decoded | reference | difference)
  const view = from && from.view && [...$('viewmode').options].some((o) => o.value === from.view) ? from.view : null;
  $('viewmode').value = view || (m.has_reference ? 'side' : 'decoded');
  $('viewmode').disabled = !m.has_reference;
  // one time step: no t slider, no t animation
  const oneTime = m.times.length < 2;
  document.querySelector('.param[data-axis="t"]').hidden = oneTime;
  $('anim-axis').querySelector('option[value="t"]').hidden = oneTime;
  if (oneTime && state.animAxis === 't') { state.animAxis = 'phi'; $('anim-axis').value = 'phi'; }
  const kb = (m.file_bytes / 1024).toFixed(1);
  $('modelinfo').textContent =
    `${m.mode} · ${m.width}×${m.height} · ${m.times.length}×${m.thetas.length}×${m.phis.length} views · ` +
    `${kb} KiB · ratio ${m.ratio.toFixed(1)} · ${m.parameters} parameters at ` +
    m.weight_bits.map((g) => `${g.bits}`).join('/') + ' bits';
  for (const a of AXES) {
    const v = from ? from[a] : null;
    state.value[a] = v !== null && v !== undefined ? v : gridOf(a)[Math.floor(gridOf(a).length / 2)];
  }
  if (from) { state.free = from.free; $('free').checked = from.free; }
  setupSliders();
  requestFrame();
}

let timer = null;
function setPlaying(on) {
  state.playing = on;
  $('play').textContent = on ? '❚❚ pause' : '▶ play';
  if (timer) { clearInterval(timer); timer = null; }
  if (on) {
    timer = setInterval(() => { if (!state.busy) stepValue(state.animAxis, 1); }, 1000 / state.fps);
  }
}

function bind() {
  $('model').addEventListener('change', (e) => selectModel(e.target.value, null));
  for (const a of AXES) {
    $('s-' + a).addEventListener('input', (e) => {
      const v = Number(e.target.value);
      setValue(a, state.free ? v : gridOf(a)[v]);
    });
    $('n-' + a).addEventListener('change', (e) => {
      const v = Number(e.target.value);
      if (Number.isFinite(v)) setValue(a, v);
    });
  }
  $('free').addEventListener('change', (e) => { state.free = e.target.checked; setupSliders(); requestFrame(); });
  $('viewmode').addEventListener('change', () => { flipShowsReference = false; updateLayout(); requestFrame(); });
  $('play').addEventListener('click', () => setPlaying(!state.playing));
  $('anim-axis').addEventListener('change', (e) => { state.animAxis = e.target.value; });
  $('speed').addEventListener('input', (e) => {
    state.fps = Number(e.target.value);
    $('speed-val').textContent = state.fps;
    if (state.playing) setPlaying(true);
  });
  document.addEventListener('keydown', (e) => {
    if (e.target.tagName === 'INPUT' || e.target.tagName === 'SELECT') return; // let the control handle its keys
    const keys = { ArrowLeft: ['phi', -1], ArrowRight: ['phi', 1], ArrowUp: ['theta', -1], ArrowDown: ['theta', 1],
      PageUp: ['t', 1], PageDown: ['t', -1] };
    if (keys[e.key]) { e.preventDefault(); stepValue(...keys[e.key]); }
    else if (e.key === ' ') { e.preventDefault(); setPlaying(!state.playing); }
    else if (e.key === 'f') flip();
  });
  const img = $('img-decoded');
  let drag = null;
  img.addEventListener('pointerdown', (e) => {
    drag = { x: e.clientX, y: e.clientY, theta: state.value.theta, phi: state.value.phi, moved: false };
    img.setPointerCapture(e.pointerId);
  });
  img.addEventListener('pointermove', (e) => {
    if (!drag) return;
    const dx = e.clientX - drag.x;
    const dy = e.clientY - drag.y;
    if (Math.abs(dx) + Math.abs(dy) > 2) drag.moved = true;
    const deg = 360 / img.clientWidth;
    state.value.phi = drag.phi - dx * deg;
    setValue('theta', drag.theta - dy * deg);
    setValue('phi', state.value.phi);
  });
  img.addEventListener('pointerup', () => { if (drag && !drag.moved) flip(); drag = null; });
}

async function main() {
  bind();
  try {
    const r = await fetch('/api/models');
    const body = await r.json();
    state.models = body.models;
    if (Number.isFinite(body.max_delta_e)) state.maxDeltaE = body.max_delta_e;
  } catch (e) {
    showError('cannot list models: ' + e.message);
    return;
  }
  const sel = $('model');
  for (const m of state.models) {
    const o = document.createElement('option');
    o.value = m.id;
    o.textContent = `${m.name} (${m.mode})`;
    sel.appendChild(o);
  }
  $('diff-scale').textContent = `0–${fmt(state.maxDeltaE)}`;
  if (!state.models.length) return;
  const from = readUrl();
  const named = state.models.find((m) => m.name === from.model);
  if (from.model && !named) showError(`no model named ${from.model} here; showing ${state.models[0].name}`);
  const m = named || state.models[0];
  sel.value = m.id;
  selectModel(m.id, named ? from : null);
}

main();
