// SPDX-License-Identifier: MIT
// A small SVG line chart for the live rates: the broker samples its
// counters every collect_statistics_interval and the API gives each
// rate; the UI keeps the last few minutes of what it read.

import { h, num, rate, byteRate, bytes } from './dom.js';

const NS = 'http://www.w3.org/2000/svg';
const W = 640;
const H = 170;
const PAD = { l: 58, r: 8, t: 10, b: 22 };
const KEEP = 5 * 60 * 1000; // ms of history shown

// History survives page changes: keyed by chart id.
const histories = new Map();

function svg(tag, attrs = {}) {
  const el = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, v);
  return el;
}

// The top of the y axis: four steps of a round size (1, 2, 2.5 or 5
// times a power of ten) that reach v.
function niceMax(v, integer, binary) {
  if (v <= 0) return integer ? 4 : 1;
  let unit = 1; // bytes: round in KiB, MiB, ...
  while (binary && v / 4 / unit >= 256) unit *= 1024;
  if (unit > 1) return niceMax(v / unit, false, false) * unit;
  const raw = v / 4;
  const p = Math.pow(10, Math.floor(Math.log10(raw)));
  let step = 10 * p;
  for (const m of [1, 2, 2.5, 5]) {
    if (m * p >= raw) {
      step = m * p;
      break;
    }
  }
  if (integer) step = Math.max(1, Math.ceil(step));
  return step * 4;
}

// series: [{key, label, cls}]; kind 'rate' or 'count' (for the labels).
export class Chart {
  constructor(id, series, kind = 'rate') {
    this.id = id;
    this.series = series;
    this.kind = kind;
    if (!histories.has(id)) histories.set(id, []);
    this.svg = svg('svg', { viewBox: `0 0 ${W} ${H}`, class: 'chart-svg', role: 'img', 'aria-label': series.map((s) => s.label).join(', ') });
    this.legend = h('ul.legend');
    this.el = h('div.chart', this.svg, this.legend);
  }

  fmt(v) {
    if (this.kind === 'bytes') return byteRate(v);
    return this.kind === 'rate' ? rate(v) : num(Math.round(v));
  }

  tick(v) {
    if (this.kind === 'bytes') return v ? bytes(v) : '0';
    if (this.kind === 'rate') return String(Number(v.toFixed(v >= 10 ? 0 : 2)));
    return num(Math.round(v));
  }

  // values: {key: number}
  push(values) {
    const hist = histories.get(this.id);
    const now = Date.now();
    hist.push({ t: now, v: values });
    while (hist.length && hist[0].t < now - KEEP) hist.shift();
    this.draw();
  }

  draw() {
    const hist = histories.get(this.id);
    const now = Date.now();
    // From the first sample (at least a minute) up to five minutes back.
    const span = Math.min(KEEP, Math.max(60000, hist.length ? now - hist[0].t : 0));
    const x0 = now - span;
    let max = 0;
    for (const p of hist) for (const s of this.series) max = Math.max(max, p.v[s.key] || 0);
    max = niceMax(max, this.kind !== 'rate', this.kind === 'bytes');
    const iw = W - PAD.l - PAD.r;
    const ih = H - PAD.t - PAD.b;
    const X = (t) => PAD.l + ((t - x0) / span) * iw;
    const Y = (v) => PAD.t + ih - (v / max) * ih;
    this.svg.replaceChildren();
    for (let i = 0; i <= 4; i++) {
      const v = (max * i) / 4;
      const y = Y(v);
      this.svg.append(svg('line', { x1: PAD.l, x2: W - PAD.r, y1: y, y2: y, class: i ? 'grid' : 'axis' }));
      const label = svg('text', { x: PAD.l - 6, y: y + 4, class: 'tick', 'text-anchor': 'end' });
      label.textContent = this.tick(v);
      this.svg.append(label);
    }
    const step = [10000, 15000, 30000, 60000].find((s) => span / s <= 6) || 60000;
    for (let back = 0; back <= span; back += step) {
      const t = svg('text', { x: X(now - back), y: H - 6, class: 'tick', 'text-anchor': back === 0 ? 'end' : back + step > span ? 'start' : 'middle' });
      t.textContent = back === 0 ? 'now' : back % 60000 ? '-' + back / 1000 + ' s' : '-' + back / 60000 + ' min';
      this.svg.append(t);
    }
    this.series.forEach((s, i) => {
      if (!hist.length) return;
      const pts = hist.map((p) => `${X(p.t).toFixed(1)},${Y(p.v[s.key] || 0).toFixed(1)}`);
      if (hist.length === 1) pts.unshift(`${X(hist[0].t - 1500).toFixed(1)},${Y(hist[0].v[s.key] || 0).toFixed(1)}`);
      const area = svg('polygon', {
        points: `${pts[0].split(',')[0]},${Y(0)} ${pts.join(' ')} ${pts[pts.length - 1].split(',')[0]},${Y(0)}`,
        class: 'area s' + i,
      });
      this.svg.append(area, svg('polyline', { points: pts.join(' '), class: 'line s' + i }));
    });
    const last = hist.length ? hist[hist.length - 1].v : {};
    this.legend.replaceChildren(...this.series.map((s, i) =>
      h('li', h('span.swatch.s' + i), h('span.legend-label', s.label), h('strong.legend-value', this.fmt(last[s.key] || 0)))));
  }
}
