package ops

import (
	"net/http"
	"net/http/pprof"
)

// routePprof serves Go's profiles under /debug/pprof/ behind the admin
// token, so a hot node can be profiled in place:
//
//	go tool pprof -http : 'http://127.0.0.1:9090/debug/pprof/profile?seconds=10'
//
// (with the token in the Authorization header; see the README).
func routePprof(mux *http.ServeMux) {
	mux.HandleFunc("/debug/pprof/", pprof.Index) // and the named profiles
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
}
