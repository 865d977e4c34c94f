// The page's address: "#/http/routers?q=x&page=2" holds the page and its
// filters, so that any view can be shared and survives a reload.

// parseHash splits the address into a path and its parameters.
export function parseHash() {
  const raw = location.hash.replace(/^#/, '') || '/';
  const i = raw.indexOf('?');
  return { path: i < 0 ? raw : raw.slice(0, i), params: new URLSearchParams(i < 0 ? '' : raw.slice(i + 1)) };
}

// setParams changes the current page's parameters in place: no new
// history entry, no new view.
export function setParams(changes) {
  const { path, params } = parseHash();
  for (const [k, v] of Object.entries(changes)) {
    if (v == null || v === '') params.delete(k); else params.set(k, v);
  }
  const q = params.toString();
  history.replaceState(null, '', '#' + path + (q ? '?' + q : ''));
  return params;
}
