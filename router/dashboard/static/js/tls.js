// Certificates: those of tls.certificates and those obtained by ACME, with
// their names, issuer, expiry and order status.
import { h, put, statusBadge, chips, code, section, empty, fmtDate, timeUntil, errorList, objectHref, icon } from './dom.js';
import { getJSON, getOptional } from './api.js';

const SOON = 14 * 86400 * 1000; // expiries closer than this are flagged

async function load() {
  const [configured, acme, routers] = await Promise.all([
    getJSON('api/tls/configured'), getOptional('api/tls/certificates', null), getOptional('api/tls/routers', null)]);
  return { configured, acme, routers };
}

function expiry(t) {
  if (!t) return h('span', { class: 'muted' }, '—');
  const left = new Date(t).getTime() - Date.now();
  const cls = left < 0 ? 'tone-bad strong' : left < SOON ? 'tone-warn strong' : null;
  return h('time', { datetime: t, title: fmtDate(t), class: cls }, left < SOON ? icon(left < 0 ? 'bad' : 'warn') : null, ' ', timeUntil(t));
}

function table(cols, rows) {
  return h('div', { class: 'table-wrap' }, h('table', { class: 'list' },
    h('thead', null, h('tr', null, cols.map((c) => h('th', { scope: 'col' }, c)))),
    h('tbody', null, rows.map((cells) => h('tr', null, cells.map((c, i) => h('td', { 'data-label': cols[i] }, c)))))));
}

const configuredKey = (c) => 'cfg:' + c.serial;

export function tlsView() {
  let root;
  return {
    title: 'TLS',
    mount(el) { root = h('div', { class: 'page' }, h('h1', null, 'TLS certificates')); el.append(root); },
    async refresh() {
      const { configured, acme, routers } = await load();
      put(root, h('h1', null, 'TLS certificates'),
        section('From tls.certificates', configured.length ? table(['Names', 'Issuer', 'Expires'], configured.map((c) => [
          h('a', { href: '#/tls/' + encodeURIComponent(configuredKey(c)) }, (c.names.length ? c.names : [c.commonName]).join(', ')),
          c.issuer, expiry(c.notAfter)])) : empty('No certificate in tls.certificates.')),
        section('Obtained by ACME', acme === null ? empty('No certificate resolver is configured.') : acme.length ? table(
          ['Status', 'Name', 'Resolver', 'Expires', 'Issuer', 'Orders', 'Last error'], acme.map((c) => [
            statusBadge(c.status), h('a', { href: '#/tls/' + encodeURIComponent(c.domain) }, c.domain), c.resolver, expiry(c.notAfter),
            c.issuer || '—', String(c.attempts || 0), c.error ? h('span', { class: 'tone-bad' }, c.error) : '—'])) : empty('No router asks for a certificate.')),
        routers && routers.length ? section('Routers with a certificate resolver', table(['Status', 'Router', 'Resolver', 'Names', 'Errors'], routers.map((r) => [
          statusBadge(r.status), h('a', { href: objectHref(r.tcp ? 'tcp' : 'http', 'routers', r.router) }, r.router), r.resolver,
          chips(r.domains, (d) => '#/tls/' + encodeURIComponent(d)), r.errors && r.errors.length ? errorList(r.errors) : '—']))) : null);
    },
  };
}

export function certificateView(key) {
  let root;
  return {
    title: key.replace(/^cfg:/, ''),
    mount(el) { root = h('div', { class: 'page' }, h('p', { class: 'muted pad' }, 'Loading…')); el.append(root); },
    async refresh() {
      const { configured, acme, routers } = await load();
      const head = (title, badge) => h('div', { class: 'detail-head' },
        h('nav', { class: 'crumbs', 'aria-label': 'Breadcrumb' }, h('a', { href: '#/tls' }, 'TLS certificates'), ' / '),
        h('div', { class: 'title-row' }, h('h1', null, title), badge));
      const props = (rows) => h('dl', { class: 'props' }, rows.filter(Boolean).map(([k, v]) => [h('dt', null, k), h('dd', null, v)]));
      const cfg = configured.find((c) => configuredKey(c) === key);
      if (cfg) {
        put(root, head(cfg.commonName || cfg.names[0] || 'certificate', h('span', { class: 'chip' }, 'tls.certificates')),
          section('Certificate', props([
            ['Names', chips(cfg.names)], ['Common name', cfg.commonName || '—'], ['Issuer', cfg.issuer],
            ['Valid from', fmtDate(cfg.notBefore)], ['Expires', h('span', null, fmtDate(cfg.notAfter), ' (', expiry(cfg.notAfter), ')')],
            ['Serial', code(cfg.serial)]])));
        return;
      }
      const c = (acme || []).find((x) => x.domain === key);
      if (!c) { put(root, head(key), empty('No certificate by this name.')); return; }
      const rs = (routers || []).filter((r) => (r.domains || []).includes(key));
      put(root, head(c.domain, statusBadge(c.status)),
        c.error ? h('section', { class: 'panel panel-bad' }, h('h2', null, 'Last failure'), errorList([c.error])) : null,
        section('ACME', props([
          ['Status', statusBadge(c.status)], ['Resolver', c.resolver], ['Issuer', c.issuer || '—'],
          ['Expires', c.notAfter ? h('span', null, fmtDate(c.notAfter), ' (', expiry(c.notAfter), ')') : '—'],
          ['Orders', String(c.attempts || 0)], ['Last order', c.lastAttempt ? fmtDate(c.lastAttempt) : '—'],
          ['Routers', chips(rs.map((r) => r.router), (r) => objectHref(rs.find((x) => x.router === r).tcp ? 'tcp' : 'http', 'routers', r))]])));
    },
  };
}
