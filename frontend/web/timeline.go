package web

import (
	"context"
	"fmt"
	"html/template"
	"net/http"
	"strings"
	"time"

	"consoled/frontend"
)

// timelineSpans is how many bars the day's timeline has (10 minutes each).
const timelineSpans = 144

// size is a timeline's drawing: the history page's, or the list's.
type size struct {
	w, h, strip int
	labels      bool
}

var (
	fullSize  = size{w: 720, h: 80, strip: 8, labels: true}
	smallSize = size{w: 216, h: 18, strip: 4}
)

// Colours, as attributes: the SVG is also shown as an image, without the
// page's style sheet.
const (
	colBar, colUp, colDown, colUnknown, colCrash = "#2e90fa", "#12b76a", "#f04438", "#d0d5dd", "#b42318"
)

// timeline draws a console's day as SVG: output volume as bars (log
// scale), up and down periods as a strip under them, crashes as red lines.
func timeline(a frontend.Activity, list []frontend.Entry, name string, sz size) (template.HTML, string) {
	w, h, strip := sz.w, sz.h, sz.strip
	height := h + strip + 2
	if sz.labels {
		height += 12
	}
	var peak, total int64
	for _, v := range a.Bytes {
		peak = max(peak, v)
		total += v
	}
	var sb strings.Builder
	fmt.Fprintf(&sb, `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 %d %d" width="%d" height="%d" role="img" aria-label="output of %s in the last 24 hours">`,
		w, height, w, height, template.HTMLEscapeString(name))
	fmt.Fprintf(&sb, `<rect class="bg" x="0" y="0" width="%d" height="%d" fill="#fff"/>`, w, h)
	bw := float64(w) / float64(len(a.Bytes))
	for i, v := range a.Bytes {
		if v == 0 {
			continue
		}
		bh := float64(h) * logScale(v) / logScale(peak)
		at := a.From.Add(time.Duration(i) * a.To.Sub(a.From) / time.Duration(len(a.Bytes)))
		fmt.Fprintf(&sb, `<rect class="bar" x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="%s"><title>%s: %d bytes</title></rect>`,
			float64(i)*bw, float64(h)-bh, max(bw-0.5, 0.5), bh, colBar, at.Format("15:04"), v)
	}
	x := func(t time.Time) float64 { return float64(w) * float64(t.Sub(a.From)) / float64(a.To.Sub(a.From)) }
	fill := map[string]string{"up": colUp, "down": colDown, "unknown": colUnknown}
	period := func(state string, from, to time.Time) {
		fmt.Fprintf(&sb, `<rect class="%s" x="%.1f" y="%d" width="%.1f" height="%d" fill="%s"/>`, state, x(from), h+2, x(to)-x(from), strip, fill[state])
	}
	// The strip: unknown (grey) until the first mark, then up or down.
	state, start := "unknown", a.From
	for _, p := range a.Periods {
		period(state, start, p.From)
		state, start = "down", p.From
		if p.Up {
			state = "up"
		}
	}
	if state == "unknown" { // no mark in the day: the console's state now held all along
		for _, e := range list {
			if e.Name == name && e.Since.Before(a.From) {
				state = map[bool]string{true: "up", false: "down"}[e.State == "up"]
			}
		}
	}
	period(state, start, a.To)
	for _, c := range a.Crashes {
		fmt.Fprintf(&sb, `<line class="crash" x1="%.1f" y1="0" x2="%.1f" y2="%d" stroke="%s" stroke-width="2"><title>%s %s</title></line>`,
			x(c.Time), x(c.Time), h+strip+2, colCrash, template.HTMLEscapeString(stamp(c.Time)), template.HTMLEscapeString(c.Headline))
	}
	if sz.labels {
		for hr := 0; hr <= 24; hr += 6 {
			t := a.From.Add(time.Duration(hr) * time.Hour)
			fmt.Fprintf(&sb, `<text x="%.1f" y="%d" font-size="10" fill="#475467">%s</text>`, min(x(t), float64(w-30)), height-2, t.Format("15:04"))
		}
	}
	sb.WriteString(`</svg>`)
	caption := fmt.Sprintf("last 24 h (UTC): %d bytes, busiest 10 minutes %d bytes, %d crashes, %d times up or down",
		total, peak, len(a.Crashes), len(a.Periods))
	return template.HTML(sb.String()), caption
}

// logScale makes quiet spans visible beside a screaming one.
func logScale(v int64) float64 {
	n := 0.0
	for v > 0 {
		n++
		v >>= 1
	}
	return n
}

// timelineImage is /console/NAME/timeline.svg: the day's timeline as an
// image, small (the list's) unless ?size=full.
func (s *Server) timelineImage(w http.ResponseWriter, r *http.Request) {
	b, _ := browserFor(r)
	id := b.identity(r)
	name := r.PathValue("name")
	ctx, cancel := context.WithTimeout(r.Context(), 30*time.Second)
	defer cancel()
	now := time.Now().UTC()
	act, err := s.core.Activity(ctx, id, name, now.Add(-24*time.Hour), now, timelineSpans)
	if err != nil {
		http.Error(w, err.Error(), http.StatusNotFound)
		return
	}
	sz := smallSize
	if r.URL.Query().Get("size") == "full" {
		sz = fullSize
	}
	svg, _ := timeline(act, s.core.List(id), name, sz)
	w.Header().Set("Content-Type", "image/svg+xml")
	w.Header().Set("Cache-Control", "no-store") // the list keeps its images and reloads them each minute
	fmt.Fprint(w, svg)
}
