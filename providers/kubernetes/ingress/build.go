package ingress

import (
	"encoding/pem"
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	networkingv1 "k8s.io/api/networking/v1"

	kube "github.com/ferryproxy/ferry/providers/kubernetes"
	"github.com/ferryproxy/ferry/router/config"
)

// Controller is the spec.controller of the IngressClasses Ferry serves.
const Controller = "ferryproxy.io/ingress-controller"

// Well-known annotations.
const (
	annotationIngressClass = "kubernetes.io/ingress.class"
	annotationDefaultClass = "ingressclass.kubernetes.io/is-default-class"
	// legacyClass is the kubernetes.io/ingress.class value served when the
	// provider's ingressClass is empty.
	legacyClass = "ferry"
)

// Names of the router and service made from the oldest Ingress's
// spec.defaultBackend, as in Traefik.
const (
	defaultRouter   = "default-router"
	defaultBackend  = "default-backend"
	defaultPriority = 1 // below every rule's default priority (its length)
)

// objects gives the build the objects Ingresses refer to; nil when absent.
type objects interface {
	Service(namespace, name string) *corev1.Service
	EndpointSlices(namespace, service string) []*discoveryv1.EndpointSlice
	Secret(namespace, name string) *corev1.Secret
}

// buildOptions are the provider options the build uses.
type buildOptions struct {
	ingressClass              string
	allowEmptyServices        bool
	allowExternalNameServices bool
	nativeLBByDefault         bool
}

// result is the provider's view of the Ingresses.
type result struct {
	config   *config.Config
	problems []config.Problem
	origins  map[config.ObjectID]string
	// served are the Ingresses of Ferry's class, sorted by namespace/name;
	// their status is Ferry's to write.
	served []*networkingv1.Ingress
	// services and secrets are the namespace/name of every Service and
	// Secret the served Ingresses name, found or not: changes to others
	// cannot change the result.
	services, secrets map[string]bool
	// invalid lists, per Ingress (namespace/name), what is wrong with it
	// (problems and warnings), for its events.
	invalid map[string][]string
	// notes are annotations without effect, per Ingress or Service, for the debug log.
	notes map[string][]string
}

// builder holds the state of one build.
type builder struct {
	o        *buildOptions
	objs     objects
	res      *result
	routers  map[string]bool   // router names taken
	backends map[string]string // service name → why it could not be made ("" when made)
	certs    map[string]string // Secret namespace/name → why it gives no certificate ("" when it does)
	warned   map[string]bool   // source warnings given, so that a Service's are given once
}

// build turns Ingresses and what they refer to into the provider's
// configuration. It is pure: everything it reads comes in as arguments.
func build(ings []*networkingv1.Ingress, classes []*networkingv1.IngressClass, objs objects, o *buildOptions) *result {
	res := &result{
		config:   &config.Config{HTTP: config.HTTP{Routers: map[string]*config.Router{}, Services: map[string]*config.Service{}}},
		origins:  map[config.ObjectID]string{},
		services: map[string]bool{},
		secrets:  map[string]bool{},
		invalid:  map[string][]string{},
		notes:    map[string][]string{},
	}
	b := &builder{o: o, objs: objs, res: res, routers: map[string]bool{}, backends: map[string]string{}, certs: map[string]string{}, warned: map[string]bool{}}
	names, hasDefault := b.classes(classes)
	sorted := slices.Clone(ings)
	slices.SortFunc(sorted, func(a, c *networkingv1.Ingress) int {
		return strings.Compare(key(a.Namespace, a.Name), key(c.Namespace, c.Name))
	})
	var defaults []*networkingv1.Ingress
	for _, ing := range sorted {
		if !b.serves(ing, names, hasDefault) {
			continue
		}
		res.served = append(res.served, ing)
		b.ingress(ing)
		if ing.Spec.DefaultBackend != nil {
			defaults = append(defaults, ing)
		}
	}
	b.defaultBackend(defaults)
	config.SortProblems(res.problems)
	return res
}

func key(namespace, name string) string { return namespace + "/" + name }

// classes returns the names of the IngressClasses Ferry serves, and whether
// one of them is the cluster's default class.
func (b *builder) classes(all []*networkingv1.IngressClass) (map[string]bool, bool) {
	names := map[string]bool{}
	hasDefault := false
	for _, ic := range all {
		if ic.Spec.Controller != Controller || (b.o.ingressClass != "" && ic.Name != b.o.ingressClass) {
			continue
		}
		names[ic.Name] = true
		hasDefault = hasDefault || ic.Annotations[annotationDefaultClass] == "true"
	}
	return names, hasDefault
}

// serves reports whether the Ingress is Ferry's: its spec.ingressClassName
// names one of Ferry's IngressClasses; or its legacy kubernetes.io/ingress.class
// annotation names the provider's ingressClass (or "ferry" when that is
// empty); or it names no class and the provider's ingressClass is empty or
// Ferry's class is the cluster's default.
func (b *builder) serves(ing *networkingv1.Ingress, names map[string]bool, hasDefault bool) bool {
	if ing.Spec.IngressClassName != nil {
		return names[*ing.Spec.IngressClassName]
	}
	if a := ing.Annotations[annotationIngressClass]; a != "" {
		return a == b.o.ingressClass || names[a] || (b.o.ingressClass == "" && a == legacyClass)
	}
	return b.o.ingressClass == "" || hasDefault
}

// ingress adds the routers, services and certificates of one Ingress.
func (b *builder) ingress(ing *networkingv1.Ingress) {
	ik := key(ing.Namespace, ing.Name)
	origin := "ingress " + ik
	ra, f := parseRouterAnnotations(ing.Annotations)
	b.findings(ik, origin, f)
	for i, t := range ing.Spec.TLS {
		if t.SecretName != "" {
			b.certificate(ing, i, t.SecretName)
		}
	}
	tls := routerTLS(ra, len(ing.Spec.TLS) > 0)
	for ri, rule := range ing.Spec.Rules {
		if rule.HTTP == nil {
			continue
		}
		host, herr := hostRule(rule.Host)
		for pi, p := range rule.HTTP.Paths {
			name := b.routerName(ing.Namespace + "-" + ing.Name + "-" + strings.Replace(rule.Host, "*.", "wildcard.", 1) + p.Path)
			path, perr := pathRule(p, ra.pathMatcher)
			field := fmt.Sprintf("spec.rules[%d].http.paths[%d]", ri, pi)
			var problems []config.Problem
			if herr != nil {
				problems = append(problems, config.Problem{Field: fmt.Sprintf("spec.rules[%d].host", ri), Message: herr.Error()})
			}
			if perr != nil {
				problems = append(problems, config.Problem{Field: field + ".path", Message: perr.Error()})
			}
			service, why := b.backend(ing.Namespace, p.Backend)
			if why != "" {
				problems = append(problems, config.Problem{Field: field + ".backend", Message: why})
			}
			r := &config.Router{Rule: and(host, path), Service: service, EntryPoints: ra.entryPoints,
				Middlewares: ra.middlewares, Priority: ra.priority, TLS: tls}
			b.router(ik, origin, name, r, f, problems)
		}
	}
}

// router adds a router and the problems that disable it: the Ingress's
// annotation problems and its own.
func (b *builder) router(ik, origin, name string, r *config.Router, f findings, own []config.Problem) {
	res := b.res
	r.RuleSyntax = "v3" // the rules made from Ingresses, whatever core.defaultRuleSyntax says
	res.config.HTTP.Routers[name] = r
	res.origins[config.ObjectID{Kind: config.KindRouter, Name: name}] = origin
	for _, a := range f.problems {
		own = append(own, config.Problem{Field: a.key, Message: a.msg})
	}
	for _, p := range own {
		p.Kind, p.Name, p.Origin = config.KindRouter, name, origin
		res.problems = append(res.problems, p)
		res.invalid[ik] = appendUnique(res.invalid[ik], joinField(p.Field, p.Message))
	}
}

// findings records an object's annotation warnings (as source problems,
// once per object) and notes; its problems are added to its routers.
func (b *builder) findings(objKey, origin string, f findings) {
	if b.warned[origin] {
		return
	}
	b.warned[origin] = true
	for _, w := range f.warnings {
		b.res.problems = append(b.res.problems, config.Problem{Kind: config.KindSource, Name: origin, Field: w.key, Message: w.msg, Origin: origin})
		if strings.HasPrefix(origin, "ingress ") {
			b.res.invalid[objKey] = appendUnique(b.res.invalid[objKey], joinField(w.key, w.msg))
		}
	}
	for _, n := range f.notes {
		b.res.notes[origin] = append(b.res.notes[origin], joinField(n.key, n.msg))
	}
}

// defaultBackend serves the spec.defaultBackend of the oldest Ingress
// (then the first by namespace/name) as the catch-all router, with the
// lowest priority. The others are ignored, with a warning.
func (b *builder) defaultBackend(ings []*networkingv1.Ingress) {
	if len(ings) == 0 {
		return
	}
	slices.SortStableFunc(ings, func(a, c *networkingv1.Ingress) int {
		return a.CreationTimestamp.Time.Compare(c.CreationTimestamp.Time)
	})
	win := ings[0]
	wk := key(win.Namespace, win.Name)
	for _, ing := range ings[1:] {
		ik := key(ing.Namespace, ing.Name)
		msg := "ignored: the default backend of ingress " + wk + " (the oldest) is served"
		b.res.problems = append(b.res.problems, config.Problem{Kind: config.KindSource, Name: "ingress " + ik,
			Field: "spec.defaultBackend", Message: msg, Origin: "ingress " + ik})
		b.res.invalid[ik] = appendUnique(b.res.invalid[ik], "spec.defaultBackend: "+msg)
	}
	ra, f := parseRouterAnnotations(win.Annotations)
	service, why := b.backend(win.Namespace, *win.Spec.DefaultBackend)
	var problems []config.Problem
	if why != "" {
		problems = append(problems, config.Problem{Field: "spec.defaultBackend", Message: why})
	}
	r := &config.Router{Rule: "PathPrefix(`/`)", Service: service, EntryPoints: ra.entryPoints,
		Middlewares: ra.middlewares, Priority: defaultPriority, TLS: routerTLS(ra, len(win.Spec.TLS) > 0)}
	b.router(wk, "ingress "+wk, defaultRouter, r, f, problems)
}

// routerTLS is the TLS section of an Ingress's routers: set when the Ingress
// has a tls section or TLS annotations, as in Traefik.
func routerTLS(ra routerAnnotations, specTLS bool) *config.RouterTLS {
	if !specTLS && !ra.tls && ra.certResolver == "" && ra.tlsOptions == "" && len(ra.domains) == 0 {
		return nil
	}
	return &config.RouterTLS{CertResolver: ra.certResolver, Options: ra.tlsOptions, Domains: ra.domains}
}

// routerName returns the sanitized name, made unique with a -2, -3… suffix.
func (b *builder) routerName(raw string) string {
	base := normalize(raw)
	name := base
	for i := 2; b.routers[name]; i++ {
		name = base + "-" + strconv.Itoa(i)
	}
	b.routers[name] = true
	return name
}

// certificate adds the key pair of a Secret named by spec.tls[i], once per
// Secret. A missing or unusable Secret is a warning: the Ingress keeps
// serving (with another matching certificate, or the default one).
func (b *builder) certificate(ing *networkingv1.Ingress, i int, name string) {
	sk := key(ing.Namespace, name)
	b.res.secrets[sk] = true
	why, done := b.certs[sk]
	if !done {
		s := b.objs.Secret(ing.Namespace, name)
		switch {
		case s == nil:
			why = "Secret " + sk + " not found (Ferry reads Secrets of type kubernetes.io/tls)"
		case !isPEM(s.Data[corev1.TLSCertKey]) || !isPEM(s.Data[corev1.TLSPrivateKeyKey]):
			why = "Secret " + sk + " has no PEM " + corev1.TLSCertKey + " and " + corev1.TLSPrivateKeyKey
		default:
			b.res.config.TLS.Certificates = append(b.res.config.TLS.Certificates,
				config.Certificate{CertFile: string(s.Data[corev1.TLSCertKey]), KeyFile: string(s.Data[corev1.TLSPrivateKeyKey])})
		}
		b.certs[sk] = why
	}
	if why == "" {
		return
	}
	ik := key(ing.Namespace, ing.Name)
	field := fmt.Sprintf("spec.tls[%d].secretName", i)
	b.res.problems = append(b.res.problems, config.Problem{Kind: config.KindSource, Name: "ingress " + ik, Field: field, Message: why, Origin: "ingress " + ik})
	b.res.invalid[ik] = appendUnique(b.res.invalid[ik], field+": "+why)
}

func isPEM(data []byte) bool {
	block, _ := pem.Decode(data)
	return block != nil
}

// backend returns the name of the service for an Ingress backend, making it
// the first time, or why it cannot be served.
func (b *builder) backend(ns string, be networkingv1.IngressBackend) (string, string) {
	if be.Resource != nil {
		return "", "resource backends are not supported"
	}
	if be.Service == nil {
		return "", "no backend service"
	}
	sb := be.Service
	port := sb.Port.Name
	if port == "" {
		port = strconv.Itoa(int(sb.Port.Number))
	}
	name := normalize(ns + "-" + sb.Name + "-" + port)
	b.res.services[key(ns, sb.Name)] = true
	why, done := b.backends[name]
	if !done {
		why = b.service(ns, sb, name)
		b.backends[name] = why
	}
	return name, why
}

// service makes the load balancer for one port of a Service, or says why
// it cannot.
func (b *builder) service(ns string, sb *networkingv1.IngressServiceBackend, name string) string {
	sk := key(ns, sb.Name)
	svc := b.objs.Service(ns, sb.Name)
	if svc == nil {
		return "Service " + sk + " not found"
	}
	sp, ok := servicePort(svc, sb.Port)
	if !ok && !(svc.Spec.Type == corev1.ServiceTypeExternalName && sb.Port.Number > 0) {
		if sb.Port.Name != "" {
			return fmt.Sprintf("Service %s has no port named %q", sk, sb.Port.Name)
		}
		return fmt.Sprintf("Service %s has no port %d", sk, sb.Port.Number)
	}
	if !ok {
		sp = corev1.ServicePort{Port: sb.Port.Number}
	}
	origin := "service " + sk
	sa, f := parseServiceAnnotations(svc.Annotations)
	b.findings(sk, origin, f)
	lb := &config.LoadBalancer{PassHostHeader: sa.passHostHeader, Sticky: sa.sticky}
	scheme := serverScheme(sa.scheme, sp)
	nativeLB := b.o.nativeLBByDefault
	if sa.nativeLB != nil {
		nativeLB = *sa.nativeLB
	}
	switch {
	case svc.Spec.Type == corev1.ServiceTypeExternalName:
		if !b.o.allowExternalNameServices {
			return "Service " + sk + " is of type ExternalName, which allowExternalNameServices does not allow"
		}
		lb.Servers = []config.Server{{URL: scheme + "://" + net.JoinHostPort(svc.Spec.ExternalName, strconv.Itoa(int(sp.Port)))}}
	case nativeLB:
		ip := svc.Spec.ClusterIP
		if ip == "" || ip == corev1.ClusterIPNone {
			return "Service " + sk + " has no cluster IP, which nativeLB needs"
		}
		lb.Servers = []config.Server{{URL: scheme + "://" + net.JoinHostPort(ip, strconv.Itoa(int(sp.Port)))}}
	default:
		for _, addr := range kube.ReadyEndpoints(b.objs.EndpointSlices(ns, sb.Name), sp.Name) {
			lb.Servers = append(lb.Servers, config.Server{URL: scheme + "://" + addr})
		}
		if len(lb.Servers) == 0 && !b.o.allowEmptyServices {
			return fmt.Sprintf("Service %s port %s has no ready endpoints (allowEmptyServices would answer 503 instead)", sk, portString(sp))
		}
	}
	b.res.config.HTTP.Services[name] = &config.Service{LoadBalancer: lb}
	b.res.origins[config.ObjectID{Kind: config.KindService, Name: name}] = origin
	for _, p := range f.problems {
		b.res.problems = append(b.res.problems, config.Problem{Kind: config.KindService, Name: name, Field: p.key, Message: p.msg, Origin: origin})
	}
	return ""
}

// servicePort finds the Service port an Ingress backend names.
func servicePort(svc *corev1.Service, p networkingv1.ServiceBackendPort) (corev1.ServicePort, bool) {
	for _, sp := range svc.Spec.Ports {
		if (p.Name != "" && sp.Name == p.Name) || (p.Name == "" && sp.Port == p.Number) {
			return sp, true
		}
	}
	return corev1.ServicePort{}, false
}

// serverScheme is the annotation's scheme, else h2c or https from the
// port's appProtocol, else https for port 443 or a port named https*, else
// http.
func serverScheme(annotated string, sp corev1.ServicePort) string {
	if annotated != "" {
		return annotated
	}
	if sp.AppProtocol != nil {
		switch *sp.AppProtocol {
		case "kubernetes.io/h2c":
			return "h2c"
		case "https":
			return "https"
		}
	}
	if sp.Port == 443 || strings.HasPrefix(sp.Name, "https") {
		return "https"
	}
	return "http"
}

func portString(sp corev1.ServicePort) string {
	if sp.Name != "" {
		return fmt.Sprintf("%d (%s)", sp.Port, sp.Name)
	}
	return strconv.Itoa(int(sp.Port))
}

func joinField(field, msg string) string {
	if field == "" {
		return msg
	}
	return field + ": " + msg
}

func appendUnique(l []string, s string) []string {
	if slices.Contains(l, s) {
		return l
	}
	return append(l, s)
}
