package health

import "net/http"

// Transport is what a check's probes go through when the service has a
// servers transport of its own (private CA, client certificate, timeouts):
// probes test what requests use. A Check without one uses the registry's
// transports.
//
// A Check's Transport is part of its Key by identity: a service whose
// transport is rebuilt (its definition changed) gets new checkers, which
// start in the state of the previous ones.
type Transport struct {
	// HTTP sends probes to http:// and https:// servers.
	HTTP http.RoundTripper
	// H2C sends probes to h2c:// servers.
	H2C http.RoundTripper
}

// clients returns the probe clients of t; nil for nil.
func (t *Transport) clients() *clients {
	if t == nil {
		return nil
	}
	h2c := t.H2C
	if h2c == nil {
		h2c = t.HTTP
	}
	return newClients(t.HTTP, h2c)
}
