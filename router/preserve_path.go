package router

import "net/url"

// serverTarget is where requests to a server go: its URL without the path,
// as Traefik does, unless preservePath keeps the path in front of every
// request's (http://h/base + /x -> /base/x). Validate warns about a path
// that is dropped.
func serverTarget(u *url.URL, preservePath bool) *url.URL {
	if preservePath || (u.Path == "" && u.RawPath == "") {
		return u
	}
	t := *u
	t.Path, t.RawPath = "", ""
	return &t
}
