package edge

import (
	"net/http"
	"sync/atomic"
	"time"
)

// dateValue is the Date header of one second, shared by every response
// sent within it.
type dateValue struct {
	unix  int64
	value []string // len 1, cap 1: an Add by a handler copies, never writes into it
}

var currentDate atomic.Pointer[dateValue]

// dateHeader returns the Date header value for now, formatted once a
// second rather than once per response.
func dateHeader() []string {
	now := time.Now()
	sec := now.Unix()
	if d := currentDate.Load(); d != nil && d.unix == sec {
		return d.value
	}
	v := now.UTC().Format(http.TimeFormat)
	d := &dateValue{unix: sec, value: []string{v}[:1:1]}
	currentDate.Store(d)
	return d.value
}
