// Package kubernetes holds what Ferry's Kubernetes providers share
// (providers/kubernetes/ingress and providers/kubernetes/gateway):
//
//   - the connection to the API server: ClientOptions (endpoint, token,
//     certAuthFilePath) and RESTConfig, whose transport logs an outage once
//     and retries reads every second at most, so that informers see the
//     server's return at once rather than after their own backoff;
//   - informers: Factories (one factory per watched namespace) made with
//     CoreFactory (or the Gateway API's generated factory), LabelSelector,
//     StripManagedFields, LogWatchErrors (list/watch failures through zap,
//     naming resource and verb when RBAC refuses) and WithLogger (client-go's
//     own logging through zap);
//   - StatusWriter, a rate-limited writer of status subresources that writes
//     only what changed;
//   - ReadyEndpoints and EndpointSlicesOf: EndpointSlices → server
//     addresses (ready, not terminating).
//
// Nothing here builds configuration; the providers do.
package kubernetes

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
)

// ClientOptions are the connection settings of a Kubernetes provider, with
// Traefik's names. When all three are empty and Ferry runs in a pod, the
// pod's service account is used (in-cluster configuration); otherwise the
// file named by $KUBECONFIG is read when set, and the fields given here
// override it.
type ClientOptions struct {
	// Endpoint is the API server's URL, e.g. https://10.0.0.1:6443.
	Endpoint string `json:"endpoint"`
	// Token is a bearer token to authenticate with, e.g. a service account token.
	Token string `json:"token"`
	// CertAuthFilePath is the file of the CA certificate that signed the API server's certificate.
	CertAuthFilePath string `json:"certAuthFilePath"`
}

// Client tuning: informers need few requests, status writes more; both
// stay far below a shared API server's limits.
const (
	clientQPS   = 50
	clientBurst = 100
)

// ErrNoEndpoint means no way to reach an API server was configured.
var ErrNoEndpoint = errors.New("no API server: set endpoint, set KUBECONFIG, or run in a pod")

// inCluster reports whether the process runs in a Kubernetes pod.
func inCluster() bool {
	return os.Getenv("KUBERNETES_SERVICE_HOST") != "" && os.Getenv("KUBERNETES_SERVICE_PORT") != ""
}

// RESTConfig returns the client configuration the options describe. The
// user agent names Ferry and the provider (ferry/kubernetesingress); warnings
// the API server sends (deprecated APIs) are logged on log.
func RESTConfig(o ClientOptions, log *zap.Logger, userAgent string) (*rest.Config, error) {
	cfg, err := o.restConfig()
	if err != nil {
		return nil, fmt.Errorf("kubernetes: client: %w", err)
	}
	cfg.UserAgent = userAgent
	cfg.QPS, cfg.Burst = clientQPS, clientBurst
	cfg.WarningHandler = &warningLogger{log: log, seen: map[string]bool{}}
	r := &reachability{log: log, endpoint: cfg.Host}
	cfg.Wrap(r.wrap)
	return cfg, nil
}

// Retry cadence of reads that fail at the transport level (see reachability).
const (
	retryMin = 100 * time.Millisecond
	retryMax = time.Second
)

// reachability watches the clients' own requests to the API server. It logs
// once when they start failing at the transport level (the server is down
// or unreachable; informers keep their caches meanwhile) and once when one
// succeeds again. And it retries a failed read (GET, which lists and
// watches are) itself, every 100 ms growing to 1 s, until the request's
// context ends: left to them, informers back off up to 30 s between tries,
// so changes made after an outage could wait that long; this way they are
// seen within about a second of the server's return. Writes are never
// retried here.
type reachability struct {
	log      *zap.Logger
	endpoint string
	down     atomic.Bool
}

func (r *reachability) wrap(rt http.RoundTripper) http.RoundTripper {
	return roundTripFunc(func(req *http.Request) (*http.Response, error) {
		delay := retryMin
		for {
			resp, err := rt.RoundTrip(req)
			r.observe(req, err)
			retry := req.Method == http.MethodGet && req.Body == nil && req.Context().Err() == nil &&
				(err != nil || resp.StatusCode == http.StatusServiceUnavailable)
			if !retry {
				return resp, err
			}
			if resp != nil {
				_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
				resp.Body.Close()
			}
			select {
			case <-req.Context().Done():
				return nil, req.Context().Err()
			case <-time.After(delay):
			}
			delay = min(2*delay, retryMax)
		}
	})
}

func (r *reachability) observe(req *http.Request, err error) {
	switch {
	case err == nil:
		if r.down.CompareAndSwap(true, false) {
			r.log.Info("kubernetes: API server reachable again; informers resynchronize", zap.String("endpoint", r.endpoint))
		}
	case req.Context().Err() != nil:
		// the caller gave up (shutdown, timeout): says nothing about the server
	default:
		if r.down.CompareAndSwap(false, true) {
			r.log.Warn("kubernetes: API server unreachable; the last routes keep serving, retrying",
				zap.String("endpoint", r.endpoint), zap.Error(err))
		}
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(req *http.Request) (*http.Response, error) { return f(req) }

func (o ClientOptions) restConfig() (*rest.Config, error) {
	if o.Endpoint == "" && o.Token == "" && o.CertAuthFilePath == "" && inCluster() {
		return rest.InClusterConfig()
	}
	if kc := os.Getenv("KUBECONFIG"); kc != "" {
		rules := clientcmd.NewDefaultClientConfigLoadingRules()
		overrides := &clientcmd.ConfigOverrides{}
		overrides.ClusterInfo.Server = o.Endpoint
		overrides.ClusterInfo.CertificateAuthority = o.CertAuthFilePath
		overrides.AuthInfo.Token = o.Token
		cfg, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, overrides).ClientConfig()
		if err != nil {
			return nil, fmt.Errorf("KUBECONFIG %s: %w", kc, err)
		}
		return cfg, nil
	}
	if o.Endpoint == "" {
		return nil, ErrNoEndpoint
	}
	if !strings.HasPrefix(o.Endpoint, "https://") && !strings.HasPrefix(o.Endpoint, "http://") {
		return nil, fmt.Errorf("endpoint %q: want an http:// or https:// URL", o.Endpoint)
	}
	if o.CertAuthFilePath != "" {
		if _, err := os.Stat(o.CertAuthFilePath); err != nil {
			return nil, fmt.Errorf("certAuthFilePath: %w", err)
		}
	}
	return &rest.Config{
		Host:            o.Endpoint,
		BearerToken:     o.Token,
		TLSClientConfig: rest.TLSClientConfig{CAFile: o.CertAuthFilePath},
	}, nil
}

// Check reports options that can never work, naming the field.
func (o ClientOptions) Check() error {
	if o.Endpoint != "" && !strings.HasPrefix(o.Endpoint, "https://") && !strings.HasPrefix(o.Endpoint, "http://") {
		return fmt.Errorf("endpoint %q: want an http:// or https:// URL", o.Endpoint)
	}
	return nil
}

// warningLogger logs each distinct API server warning once.
type warningLogger struct {
	log  *zap.Logger
	mu   sync.Mutex
	seen map[string]bool
}

// HandleWarningHeader implements rest.WarningHandler.
func (w *warningLogger) HandleWarningHeader(code int, _, text string) {
	if code != 299 || text == "" {
		return
	}
	w.mu.Lock()
	first := !w.seen[text] && len(w.seen) < 100
	if first {
		w.seen[text] = true
	}
	w.mu.Unlock()
	if first {
		w.log.Warn("kubernetes: API server warning", zap.String("warning", text))
	}
}
