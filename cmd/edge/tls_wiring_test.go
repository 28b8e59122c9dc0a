package main

import (
	"strings"
	"testing"
)

func TestACMESettings(t *testing.T) {
	dir := t.TempDir()
	conf := writeFile(t, dir, "edge.conf", "acme_email = \"ops@example.com\"\nacme_ca = \"https://ca.example/dir\"\n")
	badRoot := writeFile(t, dir, "not.pem", "not a certificate")
	tests := []struct {
		name    string
		args    []string
		wantOn  bool
		wantCA  string
		wantErr string
	}{
		{name: "off by default", args: nil},
		{name: "email turns it on", args: []string{"--acme-email", "a@example.com"}, wantOn: true},
		{name: "ca turns it on", args: []string{"--acme-ca", "https://x/dir"}, wantOn: true, wantCA: "https://x/dir"},
		{name: "config file keys", args: []string{"--config", conf}, wantOn: true, wantCA: "https://ca.example/dir"},
		{name: "flag over file", args: []string{"--config", conf, "--acme-ca", "https://y/dir"}, wantOn: true, wantCA: "https://y/dir"},
		{name: "eab without acme", args: []string{"--acme-eab-kid", "k"}, wantErr: "need --acme-email or --acme-ca"},
		{name: "half an eab", args: []string{"--acme-email", "a@b.c", "--acme-eab-kid", "k"}, wantOn: true, wantErr: "both"},
		{name: "root file not pem", args: []string{"--acme-ca", "https://x/dir", "--acme-ca-root", badRoot}, wantOn: true, wantErr: "no PEM certificate"},
		{name: "root file missing", args: []string{"--acme-ca", "https://x/dir", "--acme-ca-root", dir + "/nope.pem"}, wantOn: true, wantErr: "no such file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := parseServeFlags(t, append([]string{"--data", t.TempDir()}, tt.args...)...)
			if err != nil {
				t.Fatal(err)
			}
			if cfg.acmeSettings.on() != tt.wantOn {
				t.Errorf("ACME on = %v, want %v", !tt.wantOn, tt.wantOn)
			}
			_, err = newCertManager(cfg, nil, nil, nil)
			if tt.wantErr == "" && err != nil && !strings.Contains(err.Error(), "cache") {
				t.Errorf("newCertManager: %v", err)
			}
			if tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
				t.Errorf("newCertManager error %v, want one saying %q", err, tt.wantErr)
			}
			if ac, _ := cfg.acmeSettings.acmeConfig(); tt.wantCA != "" && (ac == nil || ac.CA != tt.wantCA) {
				t.Errorf("CA = %+v, want %s", ac, tt.wantCA)
			}
		})
	}
}
