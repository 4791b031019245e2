package config

import (
	"time"

	"github.com/hashicorp/hcl/v2"
)

// DefaultBMCEventPoll is how often a BMC's event log is read by default.
const DefaultBMCEventPoll = 30 * time.Second

// bmcEventPoll reads bmc_event_poll = "30s" ("0s": never).
func (p *parser) bmcEventPoll(cfg *Config, a *hcl.Attribute) {
	var v string
	p.str(a.Expr, &v)
	d, err := time.ParseDuration(v)
	if err != nil || d < 0 || d > 0 && d < 100*time.Millisecond {
		p.errorf(a.Expr.Range(), "Invalid duration", "bmc_event_poll %q: want a duration such as 30s (0s: never read the BMC's event log)", v)
		return
	}
	cfg.BMCEventPoll = d
}

// onBMCEvent reads on_bmc_event { command = [...] }.
func (p *parser) onBMCEvent(cfg *Config, blk *hcl.Block) {
	content, diags := blk.Body.Content(&hcl.BodySchema{Attributes: []hcl.AttributeSchema{{Name: "command", Required: true}}})
	p.diags = append(p.diags, diags...)
	if a, ok := content.Attributes["command"]; ok {
		p.strList(a.Expr, &cfg.OnBMCEvent)
		p.checkCommand(a.Expr.Range(), "on_bmc_event", cfg.OnBMCEvent)
	}
}
