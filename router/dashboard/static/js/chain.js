// The picture of a request's way through Ferry: entry points → router →
// middlewares → service → servers, as an SVG that scales to its box. Wide
// screens get columns from left to right, narrow ones rows from top to
// bottom. Every node that has a page is a link.
import { h, s } from './dom.js';

const NODE_W = 172;
const NODE_H = 54;
const GAP_X = 46;
const GAP_Y = 12;
const TITLE_H = 24;

// chainDiagram draws groups: [{title, nodes: [{label, sub, href, tone, mark}]}].
// tone colours a node's border (ok, bad, pending); mark adds an icon
// (ok, bad, pending) that says the same without colour.
export function chainDiagram(groups, availableWidth) {
  groups = groups.filter((g) => g.nodes.length);
  const cols = groups.length;
  const horizontal = availableWidth >= cols * (NODE_W + GAP_X) * 0.72;
  const svg = horizontal ? horizontalLayout(groups) : verticalLayout(groups);
  const words = groups.map((g) => `${g.title}: ${g.nodes.map((n) => n.label + (n.sub ? ` (${n.sub})` : '')).join(', ')}`).join(' → ');
  svg.setAttribute('role', 'group');
  svg.setAttribute('aria-label', 'Request path: ' + words);
  return h('figure', { class: 'chain' }, svg, h('figcaption', { class: 'sr' }, words));
}

function horizontalLayout(groups) {
  const heights = groups.map((g) => g.nodes.length * NODE_H + (g.nodes.length - 1) * GAP_Y);
  const inner = Math.max(...heights);
  const width = groups.length * NODE_W + (groups.length - 1) * GAP_X;
  const height = TITLE_H + inner + 4;
  const boxes = groups.map((g, i) => {
    const x = i * (NODE_W + GAP_X);
    const top = TITLE_H + (inner - heights[i]) / 2;
    return g.nodes.map((_, j) => ({ x, y: top + j * (NODE_H + GAP_Y) }));
  });
  const root = svgRoot(width, height);
  groups.forEach((g, i) => root.append(s('text', { class: 'chain-title', x: i * (NODE_W + GAP_X), y: 14 }, g.title)));
  for (let i = 0; i + 1 < groups.length; i++) {
    for (const [a, b] of pairs(boxes[i], boxes[i + 1])) {
      const x1 = a.x + NODE_W; const y1 = a.y + NODE_H / 2;
      const x2 = b.x - 3; const y2 = b.y + NODE_H / 2;
      const mx = (x1 + x2) / 2;
      root.append(s('path', { class: 'edge', d: `M${x1},${y1} C${mx},${y1} ${mx},${y2} ${x2},${y2}`, 'marker-end': 'url(#arrow)' }));
    }
  }
  groups.forEach((g, i) => g.nodes.forEach((n, j) => root.append(node(n, boxes[i][j], NODE_W))));
  return root;
}

function verticalLayout(groups) {
  const width = 2 * NODE_W + GAP_Y;
  const perRow = 2;
  let y = 0;
  const rows = [];
  for (const g of groups) {
    const lines = Math.ceil(g.nodes.length / perRow);
    const single = g.nodes.length === 1;
    const w = single ? width : NODE_W;
    const boxes = g.nodes.map((_, j) => ({ x: single ? 0 : (j % perRow) * (NODE_W + GAP_Y), y: y + TITLE_H + Math.floor(j / perRow) * (NODE_H + GAP_Y), w }));
    rows.push({ title: g.title, y, boxes, bottom: y + TITLE_H + lines * NODE_H + (lines - 1) * GAP_Y });
    y = rows[rows.length - 1].bottom + 28;
  }
  const root = svgRoot(width, y - 24);
  rows.forEach((r, i) => {
    root.append(s('text', { class: 'chain-title', x: 0, y: r.y + 14 }, groups[i].title));
    if (i + 1 < rows.length) {
      const x = width / 2;
      root.append(s('path', { class: 'edge', d: `M${x},${r.bottom + 2} L${x},${rows[i + 1].y + 4}`, 'marker-end': 'url(#arrow)' }));
    }
    groups[i].nodes.forEach((n, j) => root.append(node(n, r.boxes[j], r.boxes[j].w)));
  });
  return root;
}

function svgRoot(width, height) {
  return s('svg', { class: 'chain-svg', viewBox: `0 0 ${width} ${height}`, width, height, preserveAspectRatio: 'xMinYMin meet' },
    s('defs', null, s('marker', { id: 'arrow', viewBox: '0 0 10 10', refX: 9, refY: 5, markerWidth: 7, markerHeight: 7, orient: 'auto-start-reverse' },
      s('path', { d: 'M0,0 L10,5 L0,10 z', class: 'arrowhead' }))));
}

// pairs joins every node of a column to every node of the next when one
// of them has a single node, else node to node.
function pairs(a, b) {
  const out = [];
  if (a.length === 1 || b.length === 1) {
    for (const x of a) for (const y of b) out.push([x, y]);
  } else {
    for (let i = 0; i < Math.min(a.length, b.length); i++) out.push([a[i], b[i]]);
  }
  return out;
}

const MARKS = {
  ok: 'M-3.2,0.2 L-1,2.4 L3.4,-2.2',
  bad: 'M-2.4,-2.4 L2.4,2.4 M2.4,-2.4 L-2.4,2.4',
  pending: 'M0,-2.8 L0,0.2 L2,1.6',
};

function node(n, box, w) {
  const label = fit(n.label, (w - (n.mark ? 34 : 20)) / 7.4);
  const g = s('g', { class: ['node', 'tone-' + (n.tone || 'none')], transform: `translate(${box.x},${box.y})` },
    s('title', null, [n.label, n.sub, n.title].filter(Boolean).join('\n')),
    s('rect', { width: w, height: NODE_H, rx: 9 }),
    s('text', { class: 'node-label', x: 12, y: n.sub ? 22 : 32 }, label),
    n.sub ? s('text', { class: 'node-sub', x: 12, y: 40 }, fit(n.sub, (w - 20) / 6.3)) : null,
    n.mark ? s('g', { class: 'mark', transform: `translate(${w - 16},16)` }, s('circle', { r: 7 }), s('path', { d: MARKS[n.mark] })) : null);
  if (!n.href) return g;
  return s('a', { href: n.href, class: 'node-link' }, g);
}

function fit(text, chars) {
  text = String(text);
  chars = Math.max(4, Math.floor(chars));
  return text.length <= chars ? text : text.slice(0, chars - 1) + '…';
}
