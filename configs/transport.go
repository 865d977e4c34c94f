package configs

import (
	"fmt"
	"os"
	"strings"

	"github.com/ferryproxy/ferry/router/config"
)

// The static serversTransport and tcpServersTransport sections make the
// transport of the services that name none (default@internal). They take
// every key of a dynamic servers transport (http.serversTransports.<name>,
// tcp.serversTransports.<name>); Traefik's static keys (insecureSkipVerify,
// rootCAs, maxIdleConnsPerHost, forwardingTimeouts; dialTimeout,
// dialKeepAlive, terminationDelay, tls) are among them. Relative file paths
// are resolved against the static file's directory.

// checkServersTransports checks both sections, resolves their paths
// against dir, and makes sure the files they name exist.
func (s *Static) checkServersTransports(name, dir string) []string {
	var problems []string
	if t := s.ServersTransport; t != nil {
		for _, p := range config.ValidateServersTransport(t) {
			problems = append(problems, fmt.Sprintf("%s: serversTransport.%s", name, p))
		}
		problems = append(problems, resolveTLSFiles(name, "serversTransport.", dir, t.RootCAs, t.Certificates)...)
	}
	if t := s.TCPServersTransport; t != nil {
		for _, p := range config.ValidateTCPServersTransport(t) {
			problems = append(problems, fmt.Sprintf("%s: tcpServersTransport.%s", name, p))
		}
		if t.TLS != nil {
			problems = append(problems, resolveTLSFiles(name, "tcpServersTransport.tls.", dir, t.TLS.RootCAs, t.TLS.Certificates)...)
		}
	}
	return problems
}

// resolveTLSFiles resolves, in place, the file paths among roots and
// certs against dir (PEM text is left alone) and reports the files that
// cannot be read.
func resolveTLSFiles(name, prefix, dir string, roots []string, certs []config.Certificate) []string {
	var problems []string
	check := func(field string, v *string) {
		if *v == "" || strings.Contains(*v, "-----BEGIN") {
			return
		}
		*v = resolve(dir, *v)
		if _, err := os.Stat(*v); err != nil {
			problems = append(problems, fmt.Sprintf("%s: %s%s: %v", name, prefix, field, err))
		}
	}
	for i := range roots {
		check(fmt.Sprintf("rootCAs[%d]", i), &roots[i])
	}
	for i := range certs {
		check(fmt.Sprintf("certificates[%d].certFile", i), &certs[i].CertFile)
		check(fmt.Sprintf("certificates[%d].keyFile", i), &certs[i].KeyFile)
	}
	return problems
}
