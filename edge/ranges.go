package edge

import (
	"net/http"
	"slices"
	"strconv"
	"strings"
)

// MaxRanges is the most byte ranges one request may ask for. A Range
// header with more is ignored and the whole file is served with 200, as
// nginx does (max_ranges): a client that needs more parts of a file is
// better served by the file.
const MaxRanges = 16

// byteRange is an inclusive span of a file: [start, end].
type byteRange struct{ start, end int64 }

// boundRanges returns the request to hand to http.ServeContent for a file
// of size bytes. It leaves the request alone unless the Range header asks
// for more than MaxRanges ranges (then it drops the header) or for ranges
// that overlap, touch, or come out of order (then it rewrites the header
// with the merged ranges in ascending order). Ascending, disjoint ranges
// let a chunked reader load each chunk of the blob at most once: 5,092
// alternating single-byte ranges used to reload a 1 MiB chunk per range.
// A header it cannot parse is left for ServeContent to answer (416 or the
// whole file).
func boundRanges(r *http.Request, size int64) *http.Request {
	hdr := r.Header.Get("Range")
	if hdr == "" {
		return r
	}
	rewritten, ok := coalesceRanges(hdr, size)
	if !ok || rewritten == hdr {
		return r
	}
	r2 := new(http.Request)
	*r2 = *r
	r2.Header = r.Header.Clone()
	if rewritten == "" {
		r2.Header.Del("Range")
	} else {
		r2.Header.Set("Range", rewritten)
	}
	return r2
}

// coalesceRanges returns the Range header to use instead of hdr: "" for
// none (too many ranges), or the merged satisfiable ranges. ok is false
// when hdr is not a byte-range set it understands, or when no range in it
// is satisfiable (ServeContent then answers 416).
func coalesceRanges(hdr string, size int64) (string, bool) {
	spec, found := strings.CutPrefix(hdr, "bytes=")
	if !found {
		return "", false
	}
	if strings.Count(spec, ",") >= MaxRanges {
		return "", true
	}
	var ranges []byteRange
	for part := range strings.SplitSeq(spec, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue // RFC 9110 allows empty list elements
		}
		br, ok, valid := parseRangeSpec(part, size)
		if !valid {
			return "", false
		}
		if ok {
			ranges = append(ranges, br)
		}
	}
	if len(ranges) == 0 {
		return "", false
	}
	if len(ranges) > MaxRanges {
		return "", true
	}
	return formatRanges(mergeRanges(ranges)), true
}

// parseRangeSpec reads one "first-last", "first-" or "-suffix" against a
// file of size bytes. valid is false for bad syntax; ok is false for a
// valid range that lies past the end of the file.
func parseRangeSpec(s string, size int64) (br byteRange, ok, valid bool) {
	first, last, found := strings.Cut(s, "-")
	if !found {
		return br, false, false
	}
	first, last = strings.TrimSpace(first), strings.TrimSpace(last)
	if first == "" { // suffix: the last N bytes
		n, err := strconv.ParseInt(last, 10, 64)
		if err != nil || n < 0 {
			return br, false, false
		}
		if n == 0 || size == 0 {
			return br, false, true
		}
		return byteRange{max(size-n, 0), size - 1}, true, true
	}
	start, err := strconv.ParseInt(first, 10, 64)
	if err != nil || start < 0 {
		return br, false, false
	}
	end := size - 1
	if last != "" {
		if end, err = strconv.ParseInt(last, 10, 64); err != nil || end < start {
			return br, false, false
		}
		end = min(end, size-1)
	}
	if start >= size {
		return br, false, true
	}
	return byteRange{start, end}, true, true
}

// mergeRanges sorts ranges and merges those that overlap or touch.
func mergeRanges(ranges []byteRange) []byteRange {
	slices.SortFunc(ranges, func(a, b byteRange) int {
		switch {
		case a.start < b.start:
			return -1
		case a.start > b.start:
			return 1
		}
		return 0
	})
	out := ranges[:1]
	for _, br := range ranges[1:] {
		last := &out[len(out)-1]
		if br.start <= last.end+1 {
			last.end = max(last.end, br.end)
			continue
		}
		out = append(out, br)
	}
	return out
}

func formatRanges(ranges []byteRange) string {
	b := []byte("bytes=")
	for i, br := range ranges {
		if i > 0 {
			b = append(b, ',')
		}
		b = strconv.AppendInt(b, br.start, 10)
		b = append(b, '-')
		b = strconv.AppendInt(b, br.end, 10)
	}
	return string(b)
}
