package main

import (
	"strings"
	"testing"

	"consoled/config"
)

func TestClusterFlags(t *testing.T) {
	cluster := func(gw, adv string) *config.Config {
		return &config.Config{Listen: "10.0.0.1:2222", Cluster: &config.Cluster{Gateway: gw, Advertise: adv}}
	}
	for _, tc := range []struct {
		name          string
		cfg           *config.Config
		flags         clusterFlags
		gw, adv, fail string
	}{
		{"alone", &config.Config{Listen: "127.0.0.1:2222"}, clusterFlags{}, "", "", ""},
		{"flag without cluster", &config.Config{}, clusterFlags{gateway: "gw1"}, "", "", "no cluster block"},
		{"flag names it", cluster("", ""), clusterFlags{gateway: "gw2"}, "gw2", "10.0.0.1:2222", ""},
		{"flag overrides", cluster("gw1", "10.9.9.9:22"), clusterFlags{gateway: "gw3", advertise: "10.0.0.3:22"}, "gw3", "10.0.0.3:22", ""},
		{"no name", cluster("", ""), clusterFlags{}, "", "", "has no name"},
		{"bad name", cluster("", ""), clusterFlags{gateway: "gw 1"}, "", "", "-gateway"},
		{"unspecified listen", &config.Config{Listen: "0.0.0.0:2222", Cluster: &config.Cluster{Gateway: "gw1"}}, clusterFlags{}, "", "", "no advertise address"},
		{"port 0: the listener's", &config.Config{Listen: "127.0.0.1:0", Cluster: &config.Cluster{Gateway: "gw1"}}, clusterFlags{}, "gw1", "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.flags.apply(tc.cfg)
			switch {
			case tc.fail != "":
				if err == nil || !strings.Contains(err.Error(), tc.fail) {
					t.Errorf("want an error with %q, got %v", tc.fail, err)
				}
			case err != nil:
				t.Errorf("unexpected error %v", err)
			case tc.cfg.Cluster != nil && (tc.cfg.Cluster.Gateway != tc.gw || tc.cfg.Cluster.Advertise != tc.adv):
				t.Errorf("got gateway %q advertise %q, want %q %q", tc.cfg.Cluster.Gateway, tc.cfg.Cluster.Advertise, tc.gw, tc.adv)
			}
		})
	}
}
