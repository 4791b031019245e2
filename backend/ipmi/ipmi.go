// Package ipmi is a console backend for IPMI v2.0 Serial-over-LAN
// (RMCP+/lanplus), natively: no ipmitool child process. It uses
// github.com/bougou/go-ipmi for the session (RAKP authentication, integrity,
// AES encryption, Activate/Deactivate Payload) and owns the SOL packet loop
// itself: sequence numbers, acknowledgements with accepted-character counts,
// retransmission, partial accepts, input batched up to the BMC's inbound
// payload size, BREAK as a control bit, and probes of a silent BMC that
// notice within seconds one that has gone away. An IPMI request every 10 s
// keeps the session itself alive: BMCs may count only IPMI messages as
// activity (ipmi_sim closes a session 30 s after the last one, however much
// SOL flows). Power control (Power) uses a separate session, so that chassis
// commands never disturb the console stream.
package ipmi

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync/atomic"

	"github.com/bougou/go-ipmi/pkg/client"
	"github.com/bougou/go-ipmi/pkg/command/transport"
	"github.com/bougou/go-ipmi/pkg/types"

	"consoled/backend"
)

// Options say how to reach and log in to a BMC.
type Options struct {
	Address     string // host:port; port 623 when omitted
	User        string
	Password    string
	CipherSuite int    // 3 when zero (HMAC-SHA1, HMAC-SHA1-96, AES-CBC-128)
	Privilege   string // "admin" (default) or "operator"
}

func (o Options) hostPort() (string, int, error) {
	host, port, err := net.SplitHostPort(o.Address)
	if err != nil {
		return o.Address, 623, nil
	}
	p, err := strconv.Atoi(port)
	if err != nil {
		return "", 0, fmt.Errorf("BMC address %q: bad port", o.Address)
	}
	return host, p, nil
}

// connect opens an authenticated lanplus session. proxy, if set, carries
// the session's UDP traffic.
func (o Options) connect(ctx context.Context, proxy *tap) (*client.Client, error) {
	host, port, err := o.hostPort()
	if err != nil {
		return nil, err
	}
	c, err := client.NewClient(host, port, o.User, o.Password)
	if err != nil {
		return nil, fmt.Errorf("BMC %s: %w", o.Address, err)
	}
	cs := o.CipherSuite
	if cs == 0 {
		cs = 3
	}
	priv := types.PrivilegeLevelAdministrator
	if o.Privilege == "operator" {
		priv = types.PrivilegeLevelOperator
	}
	c = c.WithInterface(client.InterfaceLanplus).WithCipherSuiteID(types.CipherSuiteID(cs)).
		WithMaxPrivilegeLevel(priv).WithTimeout(defaultTimeout).WithRetry(2)
	if proxy != nil {
		c = c.WithUDPProxy(proxy)
	}
	if err := c.Connect(ctx); err != nil {
		if strings.Contains(err.Error(), "authentication code mismatch") {
			return nil, fmt.Errorf("logging in to BMC %s as %s: wrong password (RAKP authentication failed)", o.Address, o.User)
		}
		return nil, fmt.Errorf("logging in to BMC %s as %s: %s", o.Address, o.User, oneLine(err.Error()))
	}
	return c, nil
}

// oneLine folds go-ipmi's multi-line errors into one line.
func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

// Dialer activates the SOL payload of one BMC.
type Dialer struct {
	Options
	// Steal deactivates a SOL session someone else left open instead of
	// failing while it is there.
	Steal bool
	// OnTakeBack, if set, is called by the Dial that took back a SOL
	// session left active (see TakeBackStale), before Dial returns.
	OnTakeBack func()

	takeBack atomic.Bool
}

// TakeBackStale says that the SOL payload may still be held by a session
// of this gateway's own previous run, which died without closing it: the
// next activation deactivates a payload that is active first, as Steal
// does, once. Whoever calls it must know that the previous holder was
// consoled (the console's log says so); a session someone else opened is
// left alone unless Steal is set.
func (d *Dialer) TakeBackStale() { d.takeBack.Store(true) }

// Kind implements backend.Dialer.
func (d *Dialer) Kind() string { return "ipmi" }

// Describe implements backend.Describer.
func (d *Dialer) Describe() string {
	cs := d.CipherSuite
	if cs == 0 {
		cs = 3
	}
	return fmt.Sprintf("ipmi SOL %s user=%s cipher_suite=%d steal=%v", d.Address, d.User, cs, d.Steal)
}

// ErrSOLInUse is returned by Dial when another session holds the SOL payload.
var ErrSOLInUse = errors.New("SOL payload is already active on another session")

// Dial implements backend.Dialer.
func (d *Dialer) Dial(ctx context.Context) (backend.Conn, error) {
	ctx, cancel := context.WithTimeout(ctx, dialTimeout)
	defer cancel()
	t := &tap{}
	c, err := d.connect(ctx, t)
	if err != nil {
		return nil, err
	}
	req := &transport.DeactivatePayloadRequest{PayloadType: types.PayloadTypeSOL, PayloadInstance: 1}
	if takeBack := d.takeBack.Load(); d.Steal || takeBack {
		// Completion code 0x80 means none was active: nothing to take.
		_, err := c.DeactivatePayload(ctx, req)
		var re *types.ResponseError
		if takeBack && (err == nil || errors.As(err, &re)) {
			// Once: the BMC answered, and from now on a session that
			// holds the payload is not the previous run's.
			d.takeBack.Store(false)
			if err == nil && d.OnTakeBack != nil {
				d.OnTakeBack()
			}
		}
	}
	res, err := c.ActivatePayload(ctx, &transport.ActivatePayloadRequest{
		PayloadType: types.PayloadTypeSOL, PayloadInstance: 1,
		EnableEncryption: true, EnableAuthentication: true,
	})
	if err != nil {
		c.Close(context.WithoutCancel(ctx))
		var re *types.ResponseError
		if errors.As(err, &re) && re.CompletionCode() == 0x80 {
			return nil, fmt.Errorf("activating SOL on %s: %w (set steal = true to take it over)", d.Address, ErrSOLInUse)
		}
		return nil, fmt.Errorf("activating SOL on %s: %w", d.Address, err)
	}
	return startConn(c, t, d.Address, int(res.InboundPayloadSize)), nil
}
