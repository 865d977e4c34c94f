package router

import (
	"fmt"
	"net/http"
	"net/url"
	"time"

	"go.uber.org/zap"

	"github.com/ferryproxy/ferry/router/balance"
	"github.com/ferryproxy/ferry/router/config"
)

// service is the live handler of one HTTP service. It is reused as is
// across swaps while the service's definition does not change, which keeps
// its balancer state.
type service struct {
	name string
	def  *config.Service
	lb   *balance.WRR[http.Handler]
	urls []string
}

// newService builds the handler of a service whose definition passed
// validation.
func newService(name string, def *config.Service, tr *Transports, log *zap.Logger) (*service, error) {
	lb := def.LoadBalancer
	if lb == nil {
		return nil, fmt.Errorf("no loadBalancer")
	}
	flush := time.Duration(0)
	if lb.ResponseForwarding != nil {
		flush = time.Duration(lb.ResponseForwarding.FlushInterval)
	}
	targets := make([]balance.Target[http.Handler], 0, len(lb.Servers))
	urls := make([]string, 0, len(lb.Servers))
	for i, srv := range lb.Servers {
		u, err := url.Parse(srv.URL)
		if err != nil {
			return nil, fmt.Errorf("loadBalancer.servers[%d].url: %w", i, err)
		}
		proxy := newServerProxy(u, lb.PassesHost(), flush, tr, log)
		targets = append(targets, balance.Target[http.Handler]{Key: srv.URL, Weight: srv.ServerWeight(), Value: proxy})
		urls = append(urls, srv.URL)
	}
	return &service{name: name, def: def, lb: balance.NewWRR(targets), urls: urls}, nil
}

// ServeHTTP sends the request to the next server, or answers 503 when the
// service has none.
func (s *service) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h, ok := s.lb.Next()
	if !ok {
		if rec, isRec := w.(*recorder); isRec {
			rec.noServer = true
		}
		http.Error(w, "Service Unavailable", http.StatusServiceUnavailable)
		return
	}
	h.ServeHTTP(w, r)
}

// serverStatus reports each server's state for the API.
func (s *service) serverStatus() map[string]string {
	out := make(map[string]string, len(s.urls))
	for _, u := range s.urls {
		out[u] = "UP"
	}
	return out
}
