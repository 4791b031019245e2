package main

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"consoled/frontend/sshd"
	"consoled/metrics"
	"consoled/registry"
)

// serveMetrics serves Prometheus metrics and /healthz on addr.
func serveMetrics(addr string, reg *registry.Registry, fe *sshd.Server, logger *slog.Logger, opts ...metrics.Option) (*http.Server, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listening for metrics: %w", err)
	}
	srv := &http.Server{Handler: metrics.Handler(reg, fe.AuthCounts, reg.PanicCount, fe.Serving, opts...),
		ReadHeaderTimeout: 10 * time.Second}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			logger.Error("metrics server", "err", err)
		}
	}()
	logger.Info("metrics listening", "addr", ln.Addr().String())
	return srv, nil
}
