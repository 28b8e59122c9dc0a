package main

import (
	"os"
	"strings"
	"testing"
)

// TestExampleConfig: the production example config loads, and names
// every key the config file accepts, so it cannot fall behind.
func TestExampleConfig(t *testing.T) {
	const path = "../../ops/systemd/edge.conf"
	cfg := defaultServeConfig()
	if err := loadConfigFile(path, &cfg); err != nil {
		t.Fatal(err)
	}
	if cfg.HTTPS != ":443" || cfg.DrainTimeout.String() != "30s" {
		t.Errorf("example config read as https %q, drain_timeout %s", cfg.HTTPS, cfg.DrainTimeout)
	}
	text, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, key := range strings.Split(configKeys, ", ") {
		if !strings.Contains(string(text), key+" ") {
			t.Errorf("%s does not document the key %q", path, key)
		}
	}
	unit, err := os.ReadFile("../../ops/systemd/edge.service")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"DynamicUser=yes", "ProtectSystem=strict", "StateDirectory=edge", "AmbientCapabilities=CAP_NET_BIND_SERVICE", "LimitNOFILE=", "--config /etc/edge/edge.conf"} {
		if !strings.Contains(string(unit), want) {
			t.Errorf("edge.service lacks %s", want)
		}
	}
}
