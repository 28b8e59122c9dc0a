package edge

import (
	"io"
	"net/http"
	"slices"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/edgecdn/edge/edge/h1"
	"github.com/edgecdn/edge/edge/h2"
	"github.com/edgecdn/edge/edge/httpcache"
)

// hitFields are the header fields of every plain hit on one cache entry,
// built on its first hit and kept on the entry (entries never change), as
// a static file's are built when it is loaded: a hit then copies a map
// instead of canonicalizing, formatting and appending field by field.
// Only Age and the Cache-Status ttl change, once a second.
type hitFields struct {
	fields   []hitField // the origin's fields, Via, X-Cache, Accept-Ranges, Content-Length
	h2       *h2.Fields // the same, for the node's HTTP/2 writer (Preset)
	h1       *h1.Fields // and for its HTTP/1.1 writer
	typed    bool       // has a Content-Type: nothing to sniff
	lifetime time.Duration
	stamp    atomic.Pointer[hitStamp] // the latest second's Age and Cache-Status
}

// hitField is one header field of a hit: a slice walks faster than a map.
type hitField struct {
	name  string
	value []string
}

// hitStamp is Age and Cache-Status for one age, in whole seconds.
type hitStamp struct {
	age         int64
	ageField    []string
	statusField []string
}

// hitFieldsOf returns e's hit fields, building them on first use.
func hitFieldsOf(e *httpcache.Entry) *hitFields {
	if f, ok := e.Served().(*hitFields); ok {
		return f
	}
	h := make(http.Header, len(e.Header)+5)
	for k, v := range e.Header {
		h[k] = slices.Clip(v) // an Add downstream copies rather than writes into the entry
	}
	delete(h, "Content-Length")
	delete(h, "Cache-Status") // the origin's: each hit sets the node's own (stampAt)
	h["Via"] = append(slices.Clip(e.Header["Via"]), "1.1 edge")
	h["X-Cache"] = []string{"HIT"}
	h["Accept-Ranges"] = []string{"bytes"}
	h["Content-Length"] = []string{strconv.FormatInt(e.Size, 10)}
	f := &hitFields{fields: make([]hitField, 0, len(h)), h2: h2.NewFields(h), h1: h1.NewFields(h), typed: e.Header.Get("Content-Type") != "", lifetime: e.Lifetime}
	for k, v := range h {
		f.fields = append(f.fields, hitField{k, v})
	}
	e.SetServed(f)
	return f
}

// stampAt is Age and Cache-Status for e at now, formatted once a second.
func (f *hitFields) stampAt(e *httpcache.Entry, now time.Time) *hitStamp {
	age := e.Age(now)
	secs := int64(age / time.Second)
	if s := f.stamp.Load(); s != nil && s.age == secs {
		return s
	}
	ttl := int64((f.lifetime - time.Duration(secs)*time.Second) / time.Second)
	s := &hitStamp{
		age:         secs,
		ageField:    []string{strconv.FormatInt(secs, 10)},
		statusField: []string{"edge; hit; ttl=" + strconv.FormatInt(ttl, 10)},
	}
	f.stamp.Store(s)
	return s
}

// serveHit answers a plain GET or HEAD (plainRequest) with a fresh 200
// entry that has a Content-Type, from its fields f and its body: data when
// the caller has it from the lookup (in memory), else opened; now is the
// cache's clock, read once for the request. It reports false, having
// written nothing, when the body is lost.
func (h *Handler) serveHit(w http.ResponseWriter, r *http.Request, e *httpcache.Entry, f *hitFields, data []byte, now time.Time) bool {
	c := h.cfg.HTTPCache
	var body io.ReadSeeker
	if data == nil && e.Size > 0 {
		var err error
		if body, err = c.Body(e); err != nil {
			return false
		}
		if cl, ok := body.(io.Closer); ok {
			defer cl.Close()
		}
	}
	st := f.stampAt(e, now)
	hdr := w.Header()
	switch p := presetterOf(w).(type) {
	case presetter:
		f.h2.Override(hdr) // the stored Date, say, stands for the node's
		p.Preset(f.h2)
	case h1Presetter:
		f.h1.Override(hdr)
		p.Preset(f.h1)
	default:
		for _, fl := range f.fields {
			hdr[fl.name] = fl.value
		}
	}
	hdr["Age"] = st.ageField
	hdr["Cache-Status"] = st.statusField
	c.Stats().CacheBytes.Add(uint64(e.Size))
	if r.ProtoMajor == 3 && body == nil && sendWholeH3(w, http.StatusOK, headless(r, data)) {
		return true // one write, as a static file's (h3_whole.go)
	}
	var cc *corkConn
	if e.Size <= corkedResponse {
		cc = corkFor(r)
	}
	cc.Cork()
	defer cc.Uncork()
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		if body != nil {
			_, _ = io.Copy(w, body)
		} else {
			_, _ = w.Write(data)
		}
	}
	cc.send(w)
	return true
}

// presetter is the node's own HTTP/2 response writer (edge/h2), which
// sends a hit's prepared fields beside the response's header map;
// h1Presetter is its HTTP/1.1 writer (edge/h1), which does the same.
type (
	presetter   interface{ Preset(*h2.Fields) }
	h1Presetter interface{ Preset(*h1.Fields) }
)

// presetterOf is the writer beneath w's watching wrappers, to be asked
// whether it is a presetter or an h1Presetter.
func presetterOf(w http.ResponseWriter) http.ResponseWriter {
	_, inner := beneathWatchers(w)
	return inner
}
