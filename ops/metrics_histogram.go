package ops

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/edgecdn/edge/cache"
)

// histogramCollector reports a cache.DurationHistogram, which counts
// without Prometheus, as a Prometheus histogram at scrape time.
type histogramCollector struct {
	desc *prometheus.Desc
	h    *cache.DurationHistogram
}

func durationHistogram(name, help string, h *cache.DurationHistogram) prometheus.Collector {
	return &histogramCollector{desc: prometheus.NewDesc(name, help, nil, nil), h: h}
}

func (c *histogramCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

func (c *histogramCollector) Collect(ch chan<- prometheus.Metric) {
	count, sum, cum := c.h.Snapshot()
	buckets := make(map[float64]uint64, len(cum))
	for i, b := range cache.DurationBuckets {
		buckets[b.Seconds()] = cum[i]
	}
	ch <- prometheus.MustNewConstHistogram(c.desc, count, sum.Seconds(), buckets)
}
