package backend

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Rendition is one video rung of the ladder.
type Rendition struct {
	Name       string // directory: "720p"
	Bandwidth  int    // bits per second, for BANDWIDTH and filtering
	Resolution string // "1280x720"
}

// ParseRenditions reads "NAME:BPS:WxH,..." (the route's RENDITIONS).
func ParseRenditions(s string) ([]Rendition, error) {
	var out []Rendition
	for _, item := range strings.Split(s, ",") {
		f := strings.Split(strings.TrimSpace(item), ":")
		if len(f) != 3 || !safeName(f[0]) {
			return nil, fmt.Errorf("rendition %q: want NAME:BPS:WxH", item)
		}
		bw, err := strconv.Atoi(f[1])
		if err != nil || bw <= 0 {
			return nil, fmt.Errorf("rendition %q: bandwidth %q", item, f[1])
		}
		out = append(out, Rendition{Name: f[0], Bandwidth: bw, Resolution: f[2]})
	}
	return out, nil
}

// deviceCap is the highest bandwidth a device class hint allows.
var deviceCap = map[string]int{"mobile": 1_000_000, "tablet": 2_000_000}

// Filter keeps the renditions within maxBitrate (0: no cap) and the
// device class's cap; the lowest one always stays, so a player never gets
// an empty ladder.
func Filter(rs []Rendition, maxBitrate int, device string) []Rendition {
	limit := maxBitrate
	if c, ok := deviceCap[strings.ToLower(device)]; ok && (limit == 0 || c < limit) {
		limit = c
	}
	var out []Rendition
	for _, r := range rs {
		if limit == 0 || r.Bandwidth <= limit {
			out = append(out, r)
		}
	}
	if len(out) == 0 && len(rs) > 0 {
		low := rs[0]
		for _, r := range rs {
			if r.Bandwidth < low.Bandwidth {
				low = r
			}
		}
		out = []Rendition{low}
	}
	return out
}

// Master writes the master playlist for one viewer: each rendition's URI
// carries a token for that rendition alone, relative to /media/.
func Master(key []byte, viewer string, rs []Rendition, variant string, exp time.Time) string {
	uri := func(name string) string {
		tok := Sign(key, Claims{Viewer: viewer, Scope: variant + "/" + name, Expires: exp})
		if variant == VariantByteRange {
			return tok + "/br/" + name + "/index.m3u8"
		}
		return tok + "/" + name + "/index.m3u8"
	}
	var b strings.Builder
	b.WriteString("#EXTM3U\n#EXT-X-VERSION:7\n#EXT-X-INDEPENDENT-SEGMENTS\n")
	fmt.Fprintf(&b, "#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID=\"aud\",NAME=\"audio\",DEFAULT=YES,AUTOSELECT=YES,URI=%q\n", uri("audio"))
	for _, r := range rs {
		fmt.Fprintf(&b, "#EXT-X-STREAM-INF:BANDWIDTH=%d,RESOLUTION=%s,AUDIO=\"aud\"\n%s\n", r.Bandwidth, r.Resolution, uri(r.Name))
	}
	return b.String()
}

// The two variants of the ladder, as directories of the app.
const (
	VariantSegments  = "hls"
	VariantByteRange = "hls-br"
)
