package api

import (
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/ferryproxy/ferry/router"
	"github.com/ferryproxy/ferry/router/config"
)

// maxOverviewProblems bounds the problems /api/overview lists; the rest
// are counted (all of them are in /api/rawdata).
const maxOverviewProblems = 100

// addLive serves what the dashboard follows: /api/overview (counts,
// providers, problems, request and error rates), /api/events (a
// Server-Sent Events stream that says when the configuration or a
// server's health changed), /api/explain and /api/tls/configured.
func addLive(mux *http.ServeMux, v *viewer) {
	rates := &rater{}
	mux.HandleFunc("GET /api/overview", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, overview(v.sw, v.view(), rates))
	})
	mux.Handle("GET /api/events", &events{sw: v.sw, tick: eventTick})
	mux.HandleFunc("GET /api/explain", func(w http.ResponseWriter, r *http.Request) {
		serveExplain(w, r, v.sw)
	})
	mux.HandleFunc("GET /api/tls/configured", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, configuredCertificates(v.sw))
	})
}

// Overview is the state of the whole proxy at a glance.
type Overview struct {
	Time time.Time `json:"time"`
	// HTTP, TCP and UDP count the objects of each protocol by status.
	HTTP ProtocolCounts `json:"http"`
	TCP  ProtocolCounts `json:"tcp"`
	UDP  ProtocolCounts `json:"udp"`
	// Requests are the HTTP requests of every entry point.
	Requests RequestStats `json:"requests"`
	// EntryPoints are the live counters of each entry point.
	EntryPoints []EntryPointStats `json:"entryPoints"`
	// Providers are the providers that sent an update or own an object.
	Providers []ProviderOverview `json:"providers"`
	// Problems are the first problems of the table; ProblemsTotal counts all.
	Problems      []config.Problem `json:"problems"`
	ProblemsTotal int              `json:"problemsTotal"`
}

// ProtocolCounts count the routers, services and middlewares of a protocol.
type ProtocolCounts struct {
	Routers     StatusCount `json:"routers"`
	Services    StatusCount `json:"services"`
	Middlewares StatusCount `json:"middlewares"`
}

// StatusCount counts objects by status.
type StatusCount struct {
	Enabled  int `json:"enabled"`
	Disabled int `json:"disabled"`
}

// RequestStats count requests since start and, when known, per second
// over the last few seconds.
type RequestStats struct {
	Total        uint64 `json:"total"`
	ClientErrors uint64 `json:"clientErrors"`
	ServerErrors uint64 `json:"serverErrors"`
	// Rate is requests per second; ErrorRate server errors (5xx) per
	// second; nil until two samples a second apart were taken.
	Rate      *float64 `json:"rate"`
	ErrorRate *float64 `json:"errorRate"`
}

// EntryPointStats are one entry point's live counters.
type EntryPointStats struct {
	Name        string           `json:"name"`
	Connections map[string]int64 `json:"connections"`
	RequestStats
}

// ProviderOverview is one provider's state.
type ProviderOverview struct {
	Name string `json:"name"`
	// LastUpdate is when the provider last sent its view; nil when unknown.
	LastUpdate *time.Time `json:"lastUpdate"`
	Objects    int        `json:"objects"`
	Disabled   int        `json:"disabled"`
	Problems   int        `json:"problems"`
}

func overview(sw *router.Switcher, v *view, rates *rater) Overview {
	st := sw.Stats()
	o := Overview{Time: st.Time, EntryPoints: []EntryPointStats{}, Providers: []ProviderOverview{}}
	provs := map[string]*ProviderOverview{}
	prov := func(name string) *ProviderOverview {
		p := provs[name]
		if p == nil {
			p = &ProviderOverview{Name: name}
			provs[name] = p
		}
		return p
	}
	for _, c := range v.t.ObjectCounts() {
		var sc *StatusCount
		switch c.Kind {
		case config.KindRouter:
			sc = &o.HTTP.Routers
		case config.KindService:
			sc = &o.HTTP.Services
		case config.KindMiddleware:
			sc = &o.HTTP.Middlewares
		case config.KindTCPRouter:
			sc = &o.TCP.Routers
		case config.KindTCPService:
			sc = &o.TCP.Services
		case config.KindUDPRouter:
			sc = &o.UDP.Routers
		case config.KindUDPService:
			sc = &o.UDP.Services
		default:
			continue
		}
		p := prov(c.Provider)
		p.Objects += c.N
		if c.Status == router.StatusDisabled {
			sc.Disabled += c.N
			p.Disabled += c.N
		} else {
			sc.Enabled += c.N
		}
	}
	problems := v.problems()
	o.ProblemsTotal = len(problems)
	o.Problems = problems[:min(len(problems), maxOverviewProblems)]
	for _, p := range problems {
		if p.Kind != config.KindSource {
			prov(config.ProviderOf(p.Name)).Problems++
		}
	}
	for name, t := range st.ProviderUpdates {
		prov(name).LastUpdate = &t
	}
	for _, p := range provs {
		o.Providers = append(o.Providers, *p)
	}
	sort.Slice(o.Providers, func(i, j int) bool { return o.Providers[i].Name < o.Providers[j].Name })

	prev := rates.sample(st)
	var total, prevTotal router.EntryPointStats
	for _, ep := range sw.EntryPoints() {
		cur := st.EntryPoints[ep.Name]
		e := EntryPointStats{Name: ep.Name, Connections: cur.Connections,
			RequestStats: RequestStats{Total: cur.Requests, ClientErrors: cur.ClientErrors, ServerErrors: cur.ServerErrors}}
		if e.Connections == nil {
			e.Connections = map[string]int64{}
		}
		total.Requests += cur.Requests
		total.ClientErrors += cur.ClientErrors
		total.ServerErrors += cur.ServerErrors
		if prev != nil {
			p := prev.EntryPoints[ep.Name]
			prevTotal.Requests += p.Requests
			prevTotal.ServerErrors += p.ServerErrors
			e.Rate, e.ErrorRate = perSecond(cur, p, st.Time.Sub(prev.Time))
		}
		o.EntryPoints = append(o.EntryPoints, e)
	}
	for name, cur := range st.EntryPoints { // UDP entry points count sessions only
		if !hasEntryPoint(o.EntryPoints, name) {
			o.EntryPoints = append(o.EntryPoints, EntryPointStats{Name: name, Connections: cur.Connections})
		}
	}
	o.Requests = RequestStats{Total: total.Requests, ClientErrors: total.ClientErrors, ServerErrors: total.ServerErrors}
	if prev != nil {
		o.Requests.Rate, o.Requests.ErrorRate = perSecond(total, prevTotal, st.Time.Sub(prev.Time))
	}
	return o
}

func hasEntryPoint(eps []EntryPointStats, name string) bool {
	for _, e := range eps {
		if e.Name == name {
			return true
		}
	}
	return false
}

// perSecond returns the request and server error rates between two reads.
func perSecond(cur, prev router.EntryPointStats, d time.Duration) (rate, errRate *float64) {
	secs := d.Seconds()
	if secs <= 0 || cur.Requests < prev.Requests {
		return nil, nil
	}
	r := float64(cur.Requests-prev.Requests) / secs
	e := float64(cur.ServerErrors-prev.ServerErrors) / secs
	return &r, &e
}

// rater keeps recent reads of the counters to turn them into rates.
type rater struct {
	mu      sync.Mutex
	samples []router.Stats
}

// Rates are taken over the newest read at least minRateWindow old and at
// most maxRateWindow old; reads are kept at most every sampleEvery.
const (
	minRateWindow = time.Second
	maxRateWindow = 10 * time.Second
	sampleEvery   = 500 * time.Millisecond
)

// sample records st and returns the read to compare it with, or nil.
func (r *rater) sample(st router.Stats) *router.Stats {
	r.mu.Lock()
	defer r.mu.Unlock()
	keep := r.samples[:0]
	for _, s := range r.samples {
		if st.Time.Sub(s.Time) <= maxRateWindow {
			keep = append(keep, s)
		}
	}
	r.samples = keep
	var prev *router.Stats
	for i := len(r.samples) - 1; i >= 0; i-- {
		if st.Time.Sub(r.samples[i].Time) >= minRateWindow {
			prev = &r.samples[i]
			break
		}
	}
	if n := len(r.samples); n == 0 || st.Time.Sub(r.samples[n-1].Time) >= sampleEvery {
		r.samples = append(r.samples, st)
	}
	if prev != nil {
		p := *prev // the slice may move on the next call
		return &p
	}
	return nil
}

// serveExplain answers GET /api/explain?method=&url=&header=K:V&clientIP=&entryPoint=.
func serveExplain(w http.ResponseWriter, r *http.Request, sw *router.Switcher) {
	q := r.URL.Query()
	req := router.ExplainRequest{Method: q.Get("method"), URL: q.Get("url"), ClientIP: q.Get("clientIP"), Header: http.Header{}}
	for _, h := range q["header"] {
		k, val, ok := strings.Cut(h, ":")
		if !ok || strings.TrimSpace(k) == "" {
			writeError(w, http.StatusBadRequest, "explain: header "+h+": want Name: value")
			return
		}
		req.Header.Add(strings.TrimSpace(k), strings.TrimSpace(val))
	}
	for _, ep := range q["entryPoint"] {
		for _, name := range strings.Split(ep, ",") {
			if name = strings.TrimSpace(name); name != "" {
				req.EntryPoints = append(req.EntryPoints, name)
			}
		}
	}
	ex, err := sw.Explain(req)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	writeJSON(w, ex)
}

func writeError(w http.ResponseWriter, code int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	writeJSON(w, map[string]string{"message": msg})
}

// ConfiguredCertificate is a certificate of tls.certificates.
type ConfiguredCertificate struct {
	CommonName string    `json:"commonName"`
	Names      []string  `json:"names"`
	Issuer     string    `json:"issuer"`
	NotBefore  time.Time `json:"notBefore"`
	NotAfter   time.Time `json:"notAfter"`
	Serial     string    `json:"serial"`
}

func configuredCertificates(sw *router.Switcher) []ConfiguredCertificate {
	out := []ConfiguredCertificate{}
	for _, c := range sw.Certificates() {
		names := append([]string(nil), c.DNSNames...)
		for _, ip := range c.IPAddresses {
			names = append(names, ip.String())
		}
		out = append(out, ConfiguredCertificate{CommonName: c.Subject.CommonName, Names: names, Issuer: c.Issuer.String(),
			NotBefore: c.NotBefore, NotAfter: c.NotAfter, Serial: c.SerialNumber.String()})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].CommonName+out[i].Serial < out[j].CommonName+out[j].Serial })
	return out
}
