package frontend

import (
	"errors"
	"sync/atomic"
	"time"
)

// LinkIssuer makes a one-time login link to the web view for id (set by
// the web adapter with SetWebLinks); the browser session it starts ends by
// until at the latest (zero: no such bound).
type LinkIssuer func(id Identity, until time.Time) (url string, err error)

// webLinks is the issuer in force; nil: no web view.
type webLinks struct{ f atomic.Pointer[LinkIssuer] }

// SetWebLinks makes f the issuer of web login links (nil: none).
func (c *Core) SetWebLinks(f LinkIssuer) {
	if f == nil {
		c.links.f.Store(nil)
		return
	}
	c.links.f.Store(&f)
}

// WebLink is a one-time link that logs id's user in to the web view, with
// the same key: the browser session stands only while that key does, and
// ends by until (when the key expires: expiry-time, a certificate's
// valid-before; zero for a key that does not).
func (c *Core) WebLink(id Identity, until time.Time) (string, error) {
	if err := c.Stands(id); err != nil {
		return "", c.refuse(id, "", "weblink", "", err.Error())
	}
	f := c.links.f.Load()
	if f == nil {
		return "", errors.Join(ErrUnavailable, errors.New("the web view is off (no web block in the config)"))
	}
	url, err := (*f)(id, until)
	if err != nil {
		c.Record(id, "", "weblink", "", "failed: "+OneLine(err.Error()))
		return "", err
	}
	c.Record(id, "", "weblink", "", "ok")
	return url, nil
}
