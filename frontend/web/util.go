package web

import (
	"encoding/json"
	"net/http"
	"time"
)

var timeZero time.Time

// stamp is t for people and scripts alike: UTC, RFC 3339; "" for zero.
func stamp(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	json.NewEncoder(w).Encode(v)
}
