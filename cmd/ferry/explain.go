package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"strings"

	"go.uber.org/zap"

	"github.com/ferryproxy/ferry/configs"
	"github.com/ferryproxy/ferry/providers/file"
	"github.com/ferryproxy/ferry/router"
	"github.com/ferryproxy/ferry/router/config"
)

// headerFlags collects repeated -H 'Name: value' flags.
type headerFlags []string

func (h *headerFlags) String() string { return strings.Join(*h, ", ") }

func (h *headerFlags) Set(v string) error {
	if k, _, ok := strings.Cut(v, ":"); !ok || strings.TrimSpace(k) == "" {
		return fmt.Errorf("want Name: value, got %q", v)
	}
	*h = append(*h, v)
	return nil
}

// explainFlags are the flags of explain.
type explainFlags struct {
	fs         *flag.FlagSet
	config     *string
	headers    *headerFlags
	clientIP   *string
	entryPoint *string
	json       *bool
}

func newExplainFlags() explainFlags {
	fs := flag.NewFlagSet("ferry explain", flag.ContinueOnError)
	f := explainFlags{fs: fs, headers: &headerFlags{}}
	f.config = fs.String("config", "", "static configuration `file` (YAML); the embedded configs/ferry.yaml when empty")
	fs.Var(f.headers, "H", "request `header` 'Name: value' (repeatable)")
	f.clientIP = fs.String("client-ip", "", "the client's `address`, for ClientIP matchers")
	f.entryPoint = fs.String("entrypoint", "", "explain on these entry `points` only (comma-separated); default all")
	f.json = fs.Bool("json", false, "print the explanation as JSON (as /api/explain does)")
	return f
}

// explainCommand runs `ferry explain [flags] 'METHOD URL'`: offline, on the
// static configuration and the file provider's files (like check), it
// says which router serves the request on each entry point and why every
// other router for its host does not. It returns 0 when a router serves
// the request somewhere, 1 when none does or the configuration cannot be
// read, 2 on a usage error.
func explainCommand(args []string, stdout, stderr io.Writer) int {
	f := newExplainFlags()
	f.fs.SetOutput(stderr)
	f.fs.Usage = func() {}
	var positional []string
	for rest := args; ; {
		if err := f.fs.Parse(rest); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				usage(stdout)
				return 0
			}
			usage(stderr)
			return 2
		}
		if f.fs.NArg() == 0 {
			break
		}
		positional = append(positional, f.fs.Arg(0)) // flags may follow the request
		rest = f.fs.Args()[1:]
	}
	fields := strings.Fields(strings.Join(positional, " "))
	req := router.ExplainRequest{ClientIP: *f.clientIP, Header: http.Header{}}
	switch len(fields) {
	case 1:
		req.URL = fields[0]
	case 2:
		req.Method, req.URL = fields[0], fields[1]
	default:
		return usageError(stderr, "explain: want one request such as 'GET https://app.example.com/api/x', got %q", strings.Join(positional, " "))
	}
	for _, h := range *f.headers {
		k, v, _ := strings.Cut(h, ":")
		req.Header.Add(strings.TrimSpace(k), strings.TrimSpace(v))
	}
	for _, ep := range strings.Split(*f.entryPoint, ",") {
		if ep = strings.TrimSpace(ep); ep != "" {
			req.EntryPoints = append(req.EntryPoints, ep)
		}
	}

	static, problems := readStatic(*f.config)
	for _, p := range redactAll(problems) {
		fmt.Fprintln(stderr, "warning:", p)
	}
	if static == nil {
		return 1
	}
	t, eps, notes := offlineTable(static)
	for _, n := range notes {
		fmt.Fprintln(stderr, "note:", n)
	}
	ex, err := t.Explain(eps, req)
	if err != nil {
		fmt.Fprintf(stderr, "ferry: %v\n", err)
		return 2
	}
	if *f.json {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		enc.SetEscapeHTML(false)
		_ = enc.Encode(ex)
	} else {
		printExplanation(stdout, ex)
	}
	for _, ep := range ex.EntryPoints {
		if ep.Winner != nil {
			return 0
		}
	}
	return 1
}

// offlineTable builds the routing table that serve would build from the
// static configuration and the file provider's files, without serving;
// notes say what it could not see.
func offlineTable(static *configs.Static) (*router.Table, []router.EntryPoint, []string) {
	var notes []string
	cfg := &config.Config{}
	var in router.Input
	if f := static.Providers.File; f != nil && (f.Filename != "") != (f.Directory != "") {
		res, err := file.Load(file.Options{Filename: f.Filename, Directory: f.Directory})
		if err != nil {
			notes = append(notes, fmt.Sprintf("%s: %v", f.Filename+f.Directory, err))
		} else {
			cfg = res.Config.Qualified("file")
			in.Problems = qualifyProblems(res.Problems, "file")
			origins := make(config.OriginMap, len(res.Origins))
			for id, o := range res.Origins {
				if id.Kind != config.KindSource {
					id.Name = config.Qualify(id.Name, "file")
				}
				origins[id] = o
			}
			in.Origins = origins
		}
	} else {
		notes = append(notes, "no file provider: explain reads only the file provider's files")
	}
	p := static.Providers
	if p.Docker != nil || p.ConsulCatalog != nil || p.Consul != nil || p.Etcd != nil || p.KubernetesIngress != nil ||
		static.KubernetesGatewayOptions() != nil {
		notes = append(notes, "routes from Docker, Consul, etcd and Kubernetes are not read offline: ask a running Ferry's /api/explain")
	}
	internal := map[string]http.Handler{apiService: http.NotFoundHandler(), pingService: http.NotFoundHandler()}
	if static.Prometheus() != nil {
		internal[prometheusService] = http.NotFoundHandler()
	}
	if static.DashboardEnabled() {
		internal[dashboardService] = http.NotFoundHandler()
	}
	if ip := newInternalProvider(static); ip != nil {
		merged := &config.Config{}
		config.Merge(merged, cfg)
		config.Merge(merged, ip.cfg.Qualified(config.Internal))
		cfg = merged
	}
	in.Config = cfg
	eps := routerEntryPoints(static)
	t := router.Build(in, router.BuildOptions{EntryPoints: eps, Transports: router.NewTransports(), Log: zap.NewNop(),
		UDPEntryPoints: static.UDPEntryPointNames(), Internal: internal, DefaultRuleSyntax: static.DefaultRuleSyntax()})
	return t, eps, notes
}

// reasonLabel names a reason a router lost, for people.
func reasonLabel(reason string) string {
	switch reason {
	case router.LostPriority:
		return "lower priority"
	case router.LostRule:
		return "rule does not match"
	case router.LostEntryPoint:
		return "other entry point"
	case router.LostTLSOnly:
		return "TLS only"
	case router.LostPlainOnly:
		return "plain HTTP only"
	default:
		return reason
	}
}

// printExplanation writes an explanation for people.
func printExplanation(w io.Writer, ex *router.Explanation) {
	kind := "plain HTTP"
	if ex.TLS {
		kind = "TLS"
	}
	fmt.Fprintf(w, "%s %s (host %s, %s", ex.Method, ex.URL, ex.Host, kind)
	if ex.ClientIP != "" {
		fmt.Fprintf(w, ", client %s", ex.ClientIP)
	}
	fmt.Fprintln(w, ")")
	for _, ep := range ex.EntryPoints {
		fmt.Fprintf(w, "\nentry point %s: %s\n", ep.EntryPoint, ep.Summary)
		if c := ep.Winner; c != nil {
			steps := append([]string{ep.EntryPoint, c.Router}, c.Middlewares...)
			steps = append(steps, c.Service)
			fmt.Fprintf(w, "  rule:  %s\n  chain: %s", c.Rule, strings.Join(steps, " -> "))
			switch {
			case len(c.Servers) > 0:
				fmt.Fprintf(w, " -> %s", strings.Join(c.Servers, ", "))
			case len(c.Services) > 0:
				fmt.Fprintf(w, " -> %s", strings.Join(c.Services, ", "))
			}
			fmt.Fprintln(w)
		}
		if len(ep.Others) > 0 {
			fmt.Fprintf(w, "  other routers for %s:\n", ex.Host)
		}
		for _, o := range ep.Others {
			printVerdict(w, o)
		}
	}
	if len(ex.Disabled) > 0 {
		fmt.Fprintf(w, "\ndisabled routers for %s:\n", ex.Host)
		for _, o := range ex.Disabled {
			printVerdict(w, o)
		}
	}
}

func printVerdict(w io.Writer, v router.RouterVerdict) {
	prio := ""
	if v.Priority != 0 {
		prio = fmt.Sprintf(" (priority %d)", v.Priority)
	}
	fmt.Fprintf(w, "    - %s%s: %s: %s\n", v.Router, prio, reasonLabel(v.Reason), v.Detail)
}
