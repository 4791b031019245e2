package main

import (
	"errors"
	"fmt"
	"net"

	"consoled/config"
)

// clusterFlags are the command line's cluster settings.
type clusterFlags struct{ gateway, advertise string }

// apply puts the flags in cfg (they override its cluster block) and
// checks that a cluster knows this gateway's name and address: advertise
// defaults to the listen address when that names a host (with port 0, the
// port the listener gets).
func (f clusterFlags) apply(cfg *config.Config) error {
	c := cfg.Cluster
	if c == nil {
		if f.gateway != "" || f.advertise != "" {
			return errors.New("-gateway, -advertise: the config has no cluster block")
		}
		return nil
	}
	if f.gateway != "" {
		if !config.ValidName(f.gateway) {
			return fmt.Errorf("-gateway %q: 1 to 64 letters, digits, '.', '-' and '_'", f.gateway)
		}
		c.Gateway = f.gateway
	}
	if f.advertise != "" {
		c.Advertise = f.advertise
	}
	if c.Gateway == "" {
		return errors.New("cluster: this gateway has no name (gateway = \"...\" in the cluster block, or -gateway NAME)")
	}
	if c.Advertise == "" {
		host, port, err := net.SplitHostPort(cfg.Listen)
		if ip := net.ParseIP(host); err != nil || host == "" || ip != nil && ip.IsUnspecified() {
			return fmt.Errorf("cluster: no advertise address, and listen %q names no host and port the other gateways could reach (advertise = \"host:port\" or -advertise)", cfg.Listen)
		}
		if port != "0" {
			c.Advertise = cfg.Listen
		} // else: the address the listener gets (serve)
	}
	return nil
}
