package config

import (
	"strings"
	"testing"
)

func TestValidateTransformMiddleware(t *testing.T) {
	svc := map[string]*Service{"pages@file": {LoadBalancer: &LoadBalancer{Servers: []Server{{URL: "http://127.0.0.1:1"}}}}}
	tests := []struct {
		name string
		m    *Middleware
		want string // "" for valid
	}{
		{"basicAuth ok", &Middleware{BasicAuth: &BasicAuth{Users: []string{"a:{SHA}5en6G6MezRroT3XKqkdPOmY/BfQ=", "b:$apr1$saltsalt$LrttParrLPdxvgutaSXWJ0"}}}, ""},
		{"basicAuth file only", &Middleware{BasicAuth: &BasicAuth{UsersFile: "/etc/htpasswd"}}, ""},
		{"basicAuth no users", &Middleware{BasicAuth: &BasicAuth{}}, "basicAuth.users: no users and no usersFile"},
		{"basicAuth bad line", &Middleware{BasicAuth: &BasicAuth{Users: []string{"a:{SHA}5en6G6MezRroT3XKqkdPOmY/BfQ=", "bob"}}}, `basicAuth.users[1]: invalid htpasswd line: want "user:hash"`},
		{"basicAuth plain password", &Middleware{BasicAuth: &BasicAuth{Users: []string{"bob:secret"}}}, `basicAuth.users[0]: user "bob": unsupported hash`},
		{"basicAuth short bcrypt", &Middleware{BasicAuth: &BasicAuth{Users: []string{"bob:$2y$05$abc"}}}, `basicAuth.users[0]: user "bob": invalid bcrypt hash`},
		{"forwardAuth ok", &Middleware{ForwardAuth: &ForwardAuth{Address: "https://auth.internal/verify"}}, ""},
		{"forwardAuth bad address", &Middleware{ForwardAuth: &ForwardAuth{Address: "auth.internal"}}, "forwardAuth.address: want an http:// or https:// URL"},
		{"forwardAuth bad regex", &Middleware{ForwardAuth: &ForwardAuth{Address: "http://a", AuthResponseHeadersRegex: "^X-("}}, "forwardAuth.authResponseHeadersRegex: invalid regular expression"},
		{"forwardAuth cert without key", &Middleware{ForwardAuth: &ForwardAuth{Address: "http://a", TLS: &ClientTLS{Cert: "c.pem"}}}, "forwardAuth.tls: cert and key go together"},
		{"headers bad name", &Middleware{Headers: &Headers{CustomRequestHeaders: map[string]string{"X Bad": "1"}}}, `headers.customRequestHeaders: invalid header name "X Bad"`},
		{"headers bad origin regex", &Middleware{Headers: &Headers{AccessControlAllowOriginListRegex: []string{"["}}}, "headers.accessControlAllowOriginListRegex[0]: invalid regular expression"},
		{"headers negative max age", &Middleware{Headers: &Headers{AccessControlMaxAge: -5}}, "headers.accessControlMaxAge: negative value -5"},
		{"stripPrefix empty", &Middleware{StripPrefix: &StripPrefix{Prefixes: []string{"/a", ""}}}, "stripPrefix.prefixes[1]: empty prefix"},
		{"stripPrefixRegex bad", &Middleware{StripPrefixRegex: &StripPrefixRegex{Regex: []string{"/[a-"}}}, "stripPrefixRegex.regex[0]: invalid regular expression"},
		{"addPrefix empty", &Middleware{AddPrefix: &AddPrefix{}}, "addPrefix.prefix: empty prefix"},
		{"replacePath empty", &Middleware{ReplacePath: &ReplacePath{}}, "replacePath.path: empty path"},
		{"replacePathRegex bad", &Middleware{ReplacePathRegex: &ReplacePathRegex{Regex: "(", Replacement: "/"}}, "replacePathRegex.regex: invalid regular expression"},
		{"redirectScheme unknown", &Middleware{RedirectScheme: &RedirectScheme{Scheme: "htps"}}, `redirectScheme.scheme: want http or https, got "htps"`},
		{"redirectScheme bad port", &Middleware{RedirectScheme: &RedirectScheme{Scheme: "https", Port: "0"}}, `redirectScheme.port: invalid port "0"`},
		{"redirectRegex no replacement", &Middleware{RedirectRegex: &RedirectRegex{Regex: ".*"}}, "redirectRegex.replacement: empty replacement"},
		{"compress unknown encoding", &Middleware{Compress: &Compress{Encodings: []string{"deflate"}}}, `compress.encodings[0]: unknown encoding "deflate"`},
		{"compress bad type", &Middleware{Compress: &Compress{ExcludedContentTypes: []string{"image"}}}, `compress.excludedContentTypes[0]: invalid media type "image"`},
		{"errors ok", &Middleware{Errors: &ErrorPages{Status: []string{"500-599", "404"}, Service: "pages@file", Query: "/{status}.html"}}, ""},
		{"errors bad range", &Middleware{Errors: &ErrorPages{Status: []string{"599-500"}, Service: "pages@file"}}, `errors.status[0]: invalid status or range "599-500"`},
		{"errors missing service", &Middleware{Errors: &ErrorPages{Status: []string{"500"}, Service: "nope@file"}}, `errors.service: service "nope@file" does not exist`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ps := Validate(&Config{HTTP: HTTP{Services: svc, Middlewares: map[string]*Middleware{"m@file": tt.m}}})
			var got []string
			for _, p := range ps {
				if p.Kind == KindMiddleware {
					got = append(got, strings.TrimPrefix(p.Error(), "middleware m@file: "))
				}
			}
			if tt.want == "" {
				if len(got) > 0 {
					t.Fatalf("problems %q, want none", got)
				}
				return
			}
			if len(got) != 1 || !strings.HasPrefix(got[0], tt.want) {
				t.Fatalf("problems %q, want one starting with %q", got, tt.want)
			}
		})
	}
}
