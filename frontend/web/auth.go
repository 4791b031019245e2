package web

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"net/http"
	"sync"
	"time"

	"consoled/frontend"
)

// Lifetimes of what logs a browser in.
const (
	LinkTTL     = 60 * time.Second // a login link works once, this soon
	IdleTimeout = time.Hour        // a browser session unused this long ends
	cookieName  = "consoled_session"
)

// Reasons a login link is refused (the page says which).
var (
	ErrLinkUnknown = errors.New("this login link is not valid: it was used already, or never issued here")
	ErrLinkExpired = errors.New("this login link has expired (links work for 60 s)")
	ErrKeyExpired  = errors.New("the key this login link was issued for has expired")
)

// link is a login link not used yet.
type link struct {
	id      frontend.Identity // who asked for it, over SSH
	expires time.Time
	until   time.Time // the session it starts ends then (the key's expiry); zero: no bound
}

// browser is a logged-in browser session.
type browser struct {
	id    frontend.Identity // the user and key the link was issued for
	csrf  string            // sent back with every state-changing request
	last  time.Time         // last request, for IdleTimeout
	until time.Time         // when the key expires; zero: never
}

// auth holds login links and browser sessions, in memory: a restart logs
// everyone out.
type auth struct {
	now func() time.Time

	mu       sync.Mutex
	links    map[string]link
	browsers map[string]*browser // by cookie value
}

func newAuth() *auth {
	return &auth{now: time.Now, links: map[string]link{}, browsers: map[string]*browser{}}
}

// token is 256 random bits, URL-safe.
func token() string {
	b := make([]byte, 32)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// issue makes a login link token for id, whose session ends by until.
func (a *auth) issue(id frontend.Identity, until time.Time) string {
	t := token()
	now := a.now()
	a.mu.Lock()
	defer a.mu.Unlock()
	for k, l := range a.links { // expired links go on the next issue
		if now.After(l.expires) {
			delete(a.links, k)
		}
	}
	a.links[t] = link{id: id, expires: now.Add(LinkTTL), until: until}
	return t
}

// redeem uses up login link token t and starts a browser session for its
// identity: it returns the session's cookie value.
func (a *auth) redeem(t string) (cookie string, b *browser, err error) {
	now := a.now()
	a.mu.Lock()
	defer a.mu.Unlock()
	l, ok := a.links[t]
	if !ok {
		return "", nil, ErrLinkUnknown
	}
	delete(a.links, t)
	if now.After(l.expires) {
		return "", nil, ErrLinkExpired
	}
	if !l.until.IsZero() && now.After(l.until) {
		return "", nil, ErrKeyExpired
	}
	cookie = token()
	b = &browser{id: l.id, csrf: token(), last: now, until: l.until}
	a.browsers[cookie] = b
	return cookie, b, nil
}

// browserOf is the session r's cookie names, if it is still live; using
// it keeps it live.
func (a *auth) browserOf(r *http.Request) (cookie string, b *browser, ok bool) {
	c, err := r.Cookie(cookieName)
	if err != nil {
		return "", nil, false
	}
	now := a.now()
	a.mu.Lock()
	defer a.mu.Unlock()
	b, ok = a.browsers[c.Value]
	if !ok {
		return "", nil, false
	}
	if now.Sub(b.last) > IdleTimeout || !b.until.IsZero() && now.After(b.until) {
		delete(a.browsers, c.Value)
		return "", nil, false
	}
	b.last = now
	return c.Value, b, true
}

// end logs the session with cookie value c out.
func (a *auth) end(c string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	delete(a.browsers, c)
}

// prune ends the sessions and links whose identity no longer stands (a
// reload removed the user or the key).
func (a *auth) prune(stands func(frontend.Identity) error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for c, b := range a.browsers {
		if stands(b.id) != nil {
			delete(a.browsers, c)
		}
	}
	for t, l := range a.links {
		if stands(l.id) != nil {
			delete(a.links, t)
		}
	}
}

// csrfOK reports whether token is the session's CSRF token.
func (b *browser) csrfOK(token string) bool {
	return token != "" && subtle.ConstantTimeCompare([]byte(token), []byte(b.csrf)) == 1
}

// identity is who acts through this browser on request r.
func (b *browser) identity(r *http.Request) frontend.Identity {
	return frontend.Identity{User: b.id.User, Key: b.id.Key, From: r.RemoteAddr, Via: "web"}
}
