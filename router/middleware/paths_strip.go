package middleware

import "strings"

// stripRest returns how stripPrefix turns what follows the prefix into the
// new path, per forceSlash: unset, "" becomes "/" and anything else gets a
// leading slash; true (Traefik v2's default) gives "/" followed by the rest
// without its leading slashes; false keeps "" empty (so a following
// addPrefix adds no slash) and gives the rest a leading slash.
func stripRest(forceSlash *bool) func(string) string {
	switch {
	case forceSlash == nil:
		return ensureSlash
	case *forceSlash:
		return func(rest string) string { return "/" + strings.TrimLeft(rest, "/") }
	}
	return func(rest string) string {
		if rest == "" {
			return ""
		}
		return ensureSlash(rest)
	}
}
