// DOM helpers, icons and formatting shared by every view. Nothing here
// parses HTML: text always goes in as text, so data cannot inject markup.

const SVGNS = 'http://www.w3.org/2000/svg';

function append(el, child) {
  if (child == null || child === false) return;
  if (Array.isArray(child)) { child.forEach((c) => append(el, c)); return; }
  el.append(child instanceof Node ? child : String(child));
}

function setAttrs(el, attrs) {
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v == null || v === false) continue;
    if (k === 'on') { for (const [ev, fn] of Object.entries(v)) el.addEventListener(ev, fn); continue; }
    if (k === 'class' && Array.isArray(v)) { el.setAttribute('class', v.filter(Boolean).join(' ')); continue; }
    el.setAttribute(k, v === true ? '' : String(v));
  }
}

// h builds an HTML element: h('a', {href: '#/'}, 'text', child, [more]).
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  setAttrs(el, attrs);
  append(el, children);
  return el;
}

// put replaces el's children; null, false and nested lists are handled
// like h's children.
export function put(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

// s builds an SVG element.
export function s(tag, attrs, ...children) {
  const el = document.createElementNS(SVGNS, tag);
  setAttrs(el, attrs);
  append(el, children);
  return el;
}

const ICONS = {
  ok: [['circle', { cx: 8, cy: 8, r: 7 }], ['path', { d: 'M4.5 8.2l2.3 2.3 4.7-4.9' }]],
  bad: [['circle', { cx: 8, cy: 8, r: 7 }], ['path', { d: 'M5.5 5.5l5 5M10.5 5.5l-5 5' }]],
  pending: [['circle', { cx: 8, cy: 8, r: 7 }], ['path', { d: 'M8 4.5V8l2.5 1.5' }]],
  warn: [['path', { d: 'M8 1.5l7 12.5H1z' }], ['path', { d: 'M8 6v4M8 11.8v.4' }]],
  lock: [['rect', { x: 3, y: 7, width: 10, height: 7.5, rx: 1.5 }], ['path', { d: 'M5.5 7V5a2.5 2.5 0 015 0v2' }]],
  search: [['circle', { cx: 7, cy: 7, r: 4.5 }], ['path', { d: 'M10.5 10.5l3.5 3.5' }]],
  arrow: [['path', { d: 'M2 8h11M9 4l4 4-4 4' }]],
  file: [['path', { d: 'M4 1.5h5l3 3v10H4z' }], ['path', { d: 'M9 1.5v3h3' }]],
};

// icon returns a small stroked SVG icon, hidden from screen readers: the
// text next to it says the same.
export function icon(name, cls) {
  return s('svg', { class: ['icon', cls], viewBox: '0 0 16 16', width: 16, height: 16, 'aria-hidden': 'true', focusable: 'false' },
    (ICONS[name] || []).map(([tag, a]) => s(tag, a)));
}

// STATUS maps a status to its tone, icon and words.
const STATUS = {
  enabled: ['ok', 'ok', 'Enabled'], disabled: ['bad', 'bad', 'Disabled'],
  up: ['ok', 'ok', 'UP'], down: ['bad', 'bad', 'DOWN'], pending: ['pending', 'pending', 'PENDING'],
  valid: ['ok', 'ok', 'Valid'], failed: ['bad', 'bad', 'Failed'], obtaining: ['pending', 'pending', 'Obtaining'],
  warning: ['warn', 'warn', 'Warning'],
};

// statusBadge shows a status with a colour, an icon and a word, so that it
// reads without colour too.
export function statusBadge(status, title) {
  const key = String(status || '').toLowerCase();
  const [tone, ic, word] = STATUS[key] || ['pending', 'pending', status || 'unknown'];
  return h('span', { class: ['badge', 'tone-' + tone], title }, icon(ic), h('span', null, word));
}

export function tone(status) {
  return (STATUS[String(status || '').toLowerCase()] || ['pending'])[0];
}

// splitOrigin separates "reason (from dyn.yaml:12)" into its parts.
export function splitOrigin(err) {
  const m = /^(.*) \(from ([^()]+)\)$/s.exec(err || '');
  return m ? { text: m[1], origin: m[2] } : { text: err || '', origin: '' };
}

// errorList shows an object's errors, each with where it was defined.
export function errorList(errors) {
  if (!errors || !errors.length) return null;
  return h('ul', { class: 'errors' }, errors.map((e) => {
    const { text, origin } = splitOrigin(e);
    return h('li', null, icon('bad', 'tone-bad'), h('span', { class: 'err-text' }, text),
      origin ? h('span', { class: 'origin', title: 'Where it is defined' }, icon('file'), origin) : null);
  }));
}

export function providerOf(name) {
  const i = String(name).lastIndexOf('@');
  return i >= 0 ? name.slice(i + 1) : '';
}

export function link(href, text, attrs) {
  return h('a', { href, ...attrs }, text);
}

// objectHref is the detail page of an object.
export function objectHref(proto, kind, name) {
  return `#/${proto}/${kind}/${encodeURIComponent(name)}`;
}

const intFmt = new Intl.NumberFormat('en-US');
export function fmtInt(n) { return n == null ? '—' : intFmt.format(n); }

export function fmtRate(r) {
  if (r == null) return '—';
  if (r === 0) return '0';
  if (r < 10) return r.toFixed(r < 1 ? 2 : 1);
  return intFmt.format(Math.round(r));
}

export function fmtPercent(part, whole) {
  if (part == null || !whole) return '—';
  const p = (100 * part) / whole;
  return (p < 1 && p > 0 ? p.toFixed(2) : p.toFixed(1)) + ' %';
}

// timeAgo says how long ago a time was, "just now" to "3 d ago".
export function timeAgo(t, now = Date.now()) {
  if (!t) return 'never';
  const secs = Math.round((now - new Date(t).getTime()) / 1000);
  if (secs < 0) return 'in ' + duration(-secs);
  if (secs < 2) return 'just now';
  return duration(secs) + ' ago';
}

// timeUntil says how long until a time, for expiries.
export function timeUntil(t, now = Date.now()) {
  const secs = Math.round((new Date(t).getTime() - now) / 1000);
  return secs < 0 ? 'expired ' + duration(-secs) + ' ago' : 'in ' + duration(secs);
}

function duration(secs) {
  if (secs < 60) return secs + ' s';
  if (secs < 3600) return Math.floor(secs / 60) + ' min';
  if (secs < 86400) return Math.floor(secs / 3600) + ' h';
  return Math.floor(secs / 86400) + ' d';
}

export function fmtDate(t) {
  if (!t) return '';
  return new Date(t).toISOString().replace('T', ' ').replace(/\.\d+Z$/, ' UTC');
}

// code shows a rule or value in monospace.
export function code(text, cls) {
  return h('code', { class: cls }, text);
}

// chips shows a list of short values, each optionally a link.
export function chips(values, hrefOf) {
  if (!values || !values.length) return h('span', { class: 'muted' }, '—');
  return h('span', { class: 'chips' }, values.map((v) => (hrefOf ? h('a', { class: 'chip', href: hrefOf(v) }, v) : h('span', { class: 'chip' }, v))));
}

// section is a titled panel.
export function section(title, ...children) {
  return h('section', { class: 'panel' }, title ? h('h2', null, title) : null, children);
}

export function empty(text) {
  return h('p', { class: 'empty' }, text);
}

// kindOf names what a service or middleware is: its one definition key.
export function kindOf(obj, skip) {
  for (const k of Object.keys(obj || {})) {
    if (!skip.includes(k)) return k;
  }
  return '';
}
