// The lists of routers, services and middlewares: search, filters by
// status, provider and entry point, pages of PAGE_SIZE rows. Filtering runs
// on the list read once per change, so typing never waits for the API.
import { h, put, icon, statusBadge, errorList, chips, code, objectHref, fmtInt, empty, kindOf } from './dom.js';
import { getJSON, getOptional, listPath } from './api.js';
import { setParams } from './nav.js';

export const PAGE_SIZE = 50;

const KINDS = { http: ['routers', 'services', 'middlewares'], tcp: ['routers', 'services'], udp: ['routers', 'services'] };
const TITLES = { routers: 'Routers', services: 'Services', middlewares: 'Middlewares' };
const STATE_KEYS = ['name', 'provider', 'status', 'error', 'usedBy', 'using', 'serverStatus', 'serverHealth'];

export function listView(proto, kind) {
  if (!KINDS[proto].includes(kind)) {
    return { title: 'Not found', mount: (el) => el.append(h('p', { class: 'pad' }, `${proto.toUpperCase()} has no ${kind}.`)) };
  }
  const cols = columns(proto, kind);
  const isRouters = kind === 'routers';
  let items = null;
  let params = new URLSearchParams();
  let tlsEntryPoints = null; // read once
  const ui = {};
  let timer;

  function filtered() {
    const q = (params.get('q') || '').trim().toLowerCase();
    const status = params.get('status') || '';
    const provider = params.get('provider') || '';
    const ep = params.get('ep') || '';
    return items.filter((it) => (!status || it.status === status) && (!provider || it.provider === provider) &&
      (!ep || entryPointsOf(it).includes(ep)) && (!q || it._search.includes(q)));
  }

  function renderResults() {
    if (!items) return;
    syncOptions(ui.provider, uniq(items.map((it) => it.provider)), params.get('provider'), 'All providers');
    if (isRouters) syncOptions(ui.ep, uniq(items.flatMap(entryPointsOf)), params.get('ep'), 'All entry points');
    const rows = filtered();
    const pages = Math.max(1, Math.ceil(rows.length / PAGE_SIZE));
    const page = Math.min(Math.max(1, parseInt(params.get('page') || '1', 10) || 1), pages);
    const start = (page - 1) * PAGE_SIZE;
    const shown = rows.slice(start, start + PAGE_SIZE);
    ui.count.textContent = rows.length
      ? `Showing ${fmtInt(start + 1)}–${fmtInt(start + shown.length)} of ${fmtInt(rows.length)}` + (rows.length !== items.length ? ` (${fmtInt(items.length)} in all)` : '')
      : `No ${kind} match (${fmtInt(items.length)} in all)`;
    if (!shown.length) {
      put(ui.results, empty(items.length ? `No ${kind} match these filters.` : `No ${proto.toUpperCase()} ${kind}.`));
      return;
    }
    const body = h('tbody');
    for (const it of shown) {
      body.append(h('tr', { class: it.status === 'disabled' ? 'row-disabled' : null, 'data-name': it.name },
        cols.map((c) => h('td', { 'data-label': c.label, class: c.cls }, c.cell(it, { tlsEntryPoints: tlsEntryPoints || new Set() })))));
      if (it.error && it.error.length) {
        body.append(h('tr', { class: 'row-errors', 'data-name': it.name }, h('td', { colspan: cols.length }, errorList(it.error))));
      }
    }
    put(ui.results, ...[
      h('div', { class: 'table-wrap' }, h('table', { class: 'list' },
        h('thead', null, h('tr', null, cols.map((c) => h('th', { scope: 'col', class: c.cls }, c.label)))), body)),
      pager(page, pages)].filter(Boolean));
  }

  function pager(page, pages) {
    if (pages <= 1) return null;
    const go = (p) => { params = setParams({ page: p === 1 ? null : p }); renderResults(); ui.results.scrollIntoView({ block: 'start' }); };
    return h('nav', { class: 'pager', 'aria-label': 'Pages' },
      h('button', { type: 'button', disabled: page <= 1, on: { click: () => go(page - 1) } }, '← Previous'),
      h('span', null, `Page ${fmtInt(page)} of ${fmtInt(pages)}`),
      h('button', { type: 'button', disabled: page >= pages, on: { click: () => go(page + 1) } }, 'Next →'));
  }

  function onFilter(key, value) {
    params = setParams({ [key]: value, page: null });
    renderResults();
  }

  return {
    title: `${proto.toUpperCase()} ${TITLES[kind]}`,
    mount(el, p) {
      params = p;
      ui.search = h('input', { type: 'search', placeholder: `Search ${kind}: name, rule, service, error…`, 'aria-label': `Search ${kind}`, value: params.get('q') || '' });
      ui.search.addEventListener('input', () => {
        clearTimeout(timer);
        timer = setTimeout(() => onFilter('q', ui.search.value), items && items.length > 2000 ? 150 : 0);
      });
      ui.search.addEventListener('keydown', (e) => { if (e.key === 'Escape' && ui.search.value) { ui.search.value = ''; onFilter('q', ''); } });
      ui.status = select('Status', [['', 'All statuses'], ['enabled', 'Enabled'], ['disabled', 'Disabled']], params.get('status'), (v) => onFilter('status', v));
      ui.provider = select('Provider', [['', 'All providers']], params.get('provider'), (v) => onFilter('provider', v));
      ui.ep = isRouters ? select('Entry point', [['', 'All entry points']], params.get('ep'), (v) => onFilter('ep', v)) : null;
      ui.count = h('span', { class: 'count-text', role: 'status' }, 'Loading…');
      ui.results = h('div', { class: 'results' });
      el.append(h('div', { class: 'page' },
        h('div', { class: 'title-row' }, h('h1', null, `${proto.toUpperCase()} ${TITLES[kind]}`)),
        h('nav', { class: 'tabs', 'aria-label': `${proto.toUpperCase()} objects` }, KINDS[proto].map((k) =>
          h('a', { href: `#/${proto}/${k}`, 'aria-current': k === kind ? 'page' : null }, TITLES[k]))),
        h('div', { class: 'filters' }, h('label', { class: 'search' }, icon('search'), ui.search), ui.status, ui.provider, ui.ep, ui.count),
        ui.results));
    },
    update(p) {
      params = p;
      ui.search.value = params.get('q') || '';
      ui.status.querySelector('select').value = params.get('status') || '';
      renderResults();
    },
    async refresh() {
      const [eps, list] = await Promise.all([
        isRouters && proto === 'http' && !tlsEntryPoints ? getOptional('api/entrypoints', []) : null,
        getJSON(listPath(proto, kind))]);
      if (eps) tlsEntryPoints = new Set(eps.filter((e) => e.tls).map((e) => e.name));
      for (const it of list) it._search = searchText(it);
      items = list;
      renderResults();
    },
    destroy() { clearTimeout(timer); },
  };
}

function select(label, options, value, onChange) {
  const sel = h('select', { 'aria-label': label }, options.map(([v, t]) => h('option', { value: v }, t)));
  sel.value = value || '';
  sel.addEventListener('change', () => onChange(sel.value));
  return h('label', { class: 'select' }, h('span', { class: 'sr' }, label), sel);
}

// syncOptions keeps a select's options to the values present, and its choice.
function syncOptions(wrap, values, chosen, allLabel) {
  if (!wrap) return;
  const sel = wrap.querySelector('select');
  const want = ['', ...values];
  if (chosen && !want.includes(chosen)) want.push(chosen);
  const have = [...sel.options].map((o) => o.value);
  if (have.join('\n') !== want.join('\n')) {
    put(sel, ...want.map((v) => h('option', { value: v }, v || allLabel)));
  }
  sel.value = chosen || '';
}

function uniq(values) {
  return [...new Set(values.filter(Boolean))].sort();
}

function entryPointsOf(it) {
  return it.using && it.using.length ? it.using : it.entryPoints || [];
}

function searchText(it) {
  return [it.name, it.rule, it.service, ...(it.middlewares || []), ...(it.error || []), ...(it.usedBy || [])]
    .filter(Boolean).join('\n').toLowerCase();
}

// columns are the table columns of each kind of list.
function columns(proto, kind) {
  const status = { label: 'Status', cls: 'c-status', cell: (it) => statusBadge(it.status) };
  const name = { label: 'Name', cls: 'c-name', cell: (it) => h('a', { href: objectHref(proto, kind, it.name), class: 'name' }, it.name) };
  const provider = { label: 'Provider', cls: 'c-provider', cell: (it) => h('span', { class: 'chip' }, it.provider || '—') };
  const ruleCol = { label: 'Rule', cls: 'c-rule', cell: (it) => (it.rule ? code(it.rule, 'rule') : h('span', { class: 'muted' }, '—')) };
  const eps = {
    label: 'Entry points', cls: 'c-eps',
    cell: (it) => (entryPointsOf(it).length ? chips(entryPointsOf(it)) : h('span', { class: 'muted' }, proto === 'udp' ? '—' : 'all')),
  };
  const service = {
    label: 'Service', cls: 'c-service',
    cell: (it) => (!it.service ? h('span', { class: 'muted' }, '—') : it.service.endsWith('@internal')
      ? code(it.service) : h('a', { href: objectHref(proto, 'services', it.service) }, it.service)),
  };
  const usedBy = {
    label: 'Used by', cls: 'c-usedby',
    cell: (it) => (it.usedBy && it.usedBy.length ? chips(it.usedBy.slice(0, 3).concat(it.usedBy.length > 3 ? [`+${it.usedBy.length - 3}`] : []),
      (v) => (v.startsWith('+') ? null : objectHref(proto, 'routers', v))) : h('span', { class: 'muted' }, '—')),
  };
  const type = (skip) => ({ label: 'Type', cls: 'c-type', cell: (it) => code(kindOf(it, skip) || '—') });
  if (kind === 'routers') {
    const tls = {
      label: 'TLS', cls: 'c-tls',
      cell: (it, ctx) => {
        const viaEP = (it.using || []).some((e) => ctx.tlsEntryPoints.has(e));
        if (!it.tls && !viaEP) return h('span', { class: 'muted' }, '—');
        const what = it.tls && it.tls.passthrough ? 'passthrough' : it.tls && it.tls.certResolver ? it.tls.certResolver : 'TLS';
        return h('span', { class: 'tls', title: 'Serves TLS connections' }, icon('lock'), ' ', what);
      },
    };
    const mws = {
      label: 'Middlewares', cls: 'c-mws',
      cell: (it) => chips(it.middlewares, (m) => objectHref(proto, 'middlewares', m)),
    };
    if (proto === 'http') return [status, name, ruleCol, eps, tls, mws, service, provider];
    if (proto === 'tcp') return [status, name, ruleCol, eps, tls, service, provider];
    return [status, name, eps, service, provider];
  }
  if (kind === 'services') {
    const servers = { label: 'Servers', cls: 'c-servers', cell: (it) => serverSummary(it) };
    return [status, name, type(STATE_KEYS), servers, usedBy, provider];
  }
  return [status, name, type(STATE_KEYS), usedBy, provider];
}

// serverSummary counts a service's servers by health.
function serverSummary(it) {
  const st = Object.values(it.serverStatus || {});
  if (!st.length) {
    const lb = it.loadBalancer;
    return lb && lb.servers ? h('span', null, `${lb.servers.length} server${lb.servers.length === 1 ? '' : 's'}`) : h('span', { class: 'muted' }, '—');
  }
  const by = {};
  for (const s of st) by[s] = (by[s] || 0) + 1;
  return h('span', { class: 'server-sum' }, Object.keys(by).sort().map((s) => statusCount(s, by[s])));
}

function statusCount(status, n) {
  const b = statusBadge(status);
  b.querySelector('span').textContent = `${n} ${status}`;
  return b;
}
