package app

import "strings"

// Matches reports whether a wildcard route covers the cleaned path p:
// "/x/..." matches "/x" and everything below it.
func (rt *Route) Matches(p string) bool {
	if rt.Prefix == "" {
		return true
	}
	return p == rt.Prefix || strings.HasPrefix(p, rt.Prefix+"/")
}

// Rel is p relative to the route's prefix, without a leading slash.
func (rt *Route) Rel(p string) string {
	return strings.TrimPrefix(strings.TrimPrefix(p, rt.Prefix), "/")
}

// LookupStatic finds the file a static route serves for the cleaned
// request path p. redirect is set when p names a directory without its
// trailing slash ("/docs" for "/docs/..." too: relative links need
// "/docs/").
func (rt *Route) LookupStatic(p string) (a *Asset, redirect bool, err error) {
	a, redirect, err = rt.Files.Lookup(rt.Rel(p))
	if rt.Wild && rt.Prefix != "" && p == rt.Prefix && err == nil && rt.Files.single == nil {
		redirect = true
	}
	return a, redirect, err
}
