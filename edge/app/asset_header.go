package app

import (
	"net/http"
	"strconv"
)

// AssetHeader holds an asset's response header values, built once when the
// asset is loaded. A response assigns these slices into its header map
// instead of formatting a date, a length and a quoted digest per request.
// Each slice has its capacity equal to its length, so an append by anyone
// downstream copies rather than writes into the shared array.
type AssetHeader struct {
	ContentType   []string
	ETag          []string
	LastModified  []string
	ContentLength []string
	AcceptRanges  []string
}

// headerValue is a one-value header slice that cannot be appended into.
func headerValue(v string) []string { return []string{v}[:1:1] }

// buildHeader fills a.Header from the asset's fields.
func (a *Asset) buildHeader() {
	a.Header = AssetHeader{
		ContentType:   headerValue(a.ContentType),
		ETag:          headerValue(a.ETag),
		LastModified:  headerValue(a.ModTime.UTC().Format(http.TimeFormat)),
		ContentLength: headerValue(strconv.FormatInt(a.Size, 10)),
		AcceptRanges:  acceptRanges,
	}
}

var acceptRanges = headerValue("bytes")

// CacheControlHeader is the route's Cache-Control as a shared header
// value, or nil when the route sets none.
func (rt *Route) CacheControlHeader() []string { return rt.cacheControl }
