package main

import (
	"fmt"
	"io"
	"strings"

	"go.uber.org/zap"

	"github.com/ferryproxy/ferry/configs"
	"github.com/ferryproxy/ferry/providers/file"
	"github.com/ferryproxy/ferry/router"
	"github.com/ferryproxy/ferry/router/config"
)

// check validates the static configuration and every dynamic file it points
// to without serving, printing one line per problem. It returns 1 when there
// is any problem.
func check(static *configs.Static, staticProblems []string, path string, out io.Writer) int {
	count := len(staticProblems)
	for _, p := range staticProblems {
		fmt.Fprintln(out, p)
	}
	if static == nil {
		fmt.Fprintf(out, "%d problem(s)\n", count)
		return 1
	}
	routers, services := 0, 0
	if f := static.Providers.File; f != nil && (f.Filename != "") != (f.Directory != "") {
		source := f.Filename + f.Directory
		res, err := file.Load(file.Options{Filename: f.Filename, Directory: f.Directory})
		if err != nil {
			fmt.Fprintf(out, "%s: %v\n", source, err)
			count++
		} else {
			origins := make(config.OriginMap, len(res.Origins))
			for id, o := range res.Origins {
				if id.Kind != config.KindSource {
					id.Name = config.Qualify(id.Name, "file")
				}
				origins[id] = o
			}
			eps := routerEntryPoints(static)
			t := router.Build(router.Input{
				Config: res.Config.Qualified("file"), Problems: qualifyProblems(res.Problems, "file"), Origins: origins,
			}, router.BuildOptions{EntryPoints: eps, Transports: router.NewTransports(), Log: zap.NewNop(),
				UDPEntryPoints: static.UDPEntryPointNames(), DefaultRuleSyntax: static.DefaultRuleSyntax()})
			for _, p := range t.Problems() {
				fmt.Fprintln(out, formatProblem(p, source))
				count++
			}
			routers, services = len(t.Routers()), len(t.Services())
		}
	}
	if count > 0 {
		fmt.Fprintf(out, "%d problem(s) in %s\n", count, displayName(path))
		return 1
	}
	fmt.Fprintf(out, "configuration OK: %d entry point(s), %d router(s), %d service(s)\n", len(static.EntryPoints), routers, services)
	return 0
}

// formatProblem prints a problem as "<file:line>: <key path>: <message>".
func formatProblem(p config.Problem, source string) string {
	origin := p.Origin
	if origin == "" {
		origin = source
	}
	name := strings.TrimSuffix(p.Name, "@file")
	var key string
	switch p.Kind {
	case config.KindRouter:
		key = "http.routers." + name
	case config.KindService:
		key = "http.services." + name
	case config.KindMiddleware:
		key = "http.middlewares." + name
	case config.KindTCPRouter:
		key = "tcp.routers." + name
	case config.KindTCPService:
		key = "tcp.services." + name
	case config.KindTCPMiddleware:
		key = "tcp.middlewares." + name
	case config.KindUDPRouter:
		key = "udp.routers." + name
	case config.KindUDPService:
		key = "udp.services." + name
	case config.KindServersTransport:
		key = "http.serversTransports." + name
	case config.KindTCPServersTransport:
		key = "tcp.serversTransports." + name
	case config.KindCertificate:
		key = name
	case config.KindSource:
		if p.Origin == "" {
			origin = p.Name
		}
	}
	if p.Field != "" {
		if key != "" {
			key += "."
		}
		key += p.Field
	}
	if key == "" {
		return fmt.Sprintf("%s: %s", origin, p.Message)
	}
	return fmt.Sprintf("%s: %s: %s", origin, key, p.Message)
}

func displayName(path string) string {
	if path == "" {
		return "configs/ferry.yaml (embedded)"
	}
	return path
}
