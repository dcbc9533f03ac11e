package calldesk

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"

	"golang.org/x/crypto/bcrypt"
)

// Cookie names. Both are HttpOnly and SameSite=Strict.
const (
	sessionCookie = "calldesk_session"
	loginCookie   = "calldesk_login"
)

var agentName = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,63}$`)

// ParseAgents reads the agents' sign-in configuration: comma-separated
// name:bcrypt-hash pairs, e.g. "alice:$2a$10$...,bob:$2a$10$...". Names are
// lower-case letters, digits, '.', '_' or '-'.
func ParseAgents(s string) (map[string][]byte, error) {
	agents := map[string][]byte{}
	for _, field := range strings.Split(s, ",") {
		field = strings.TrimSpace(field)
		if field == "" {
			continue
		}
		name, hash, ok := strings.Cut(field, ":")
		if !ok || !agentName.MatchString(name) {
			return nil, fmt.Errorf("call desk agent %q: want name:bcrypt-hash with a lower-case name", name)
		}
		if _, err := bcrypt.Cost([]byte(hash)); err != nil {
			return nil, fmt.Errorf("call desk agent %s: password is not a bcrypt hash: %w", name, err)
		}
		if _, dup := agents[name]; dup {
			return nil, fmt.Errorf("call desk agent %s is listed twice", name)
		}
		agents[name] = []byte(hash)
	}
	return agents, nil
}

// dummyHash is compared against when the agent name is unknown, so a sign-in
// takes as long for a wrong name as for a wrong password.
var dummyHash, _ = bcrypt.GenerateFromPassword([]byte("no agent has this password"), bcrypt.DefaultCost)

func (d *Desk) checkPassword(agent, password string) bool {
	hash, ok := d.agents[agent]
	if !ok {
		_ = bcrypt.CompareHashAndPassword(dummyHash, []byte(password))
		return false
	}
	return bcrypt.CompareHashAndPassword(hash, []byte(password)) == nil
}

func (d *Desk) mac(parts ...string) string {
	m := hmac.New(sha256.New, d.secret)
	m.Write([]byte(strings.Join(parts, "\x00")))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

func (d *Desk) validMAC(want string, parts ...string) bool {
	return hmac.Equal([]byte(want), []byte(d.mac(parts...)))
}

// sessionValue is agent.expiry.mac: signed, so it cannot be forged or edited.
func (d *Desk) sessionValue(agent string, expires time.Time) string {
	exp := strconv.FormatInt(expires.Unix(), 10)
	return agent + "." + exp + "." + d.mac("session", agent, exp)
}

var errNoSession = errors.New("not signed in")

// agent returns the signed-in agent and the raw session value.
func (d *Desk) agent(r *http.Request) (string, string, error) {
	c, err := r.Cookie(sessionCookie)
	if err != nil {
		return "", "", errNoSession
	}
	parts := strings.Split(c.Value, ".")
	if len(parts) != 3 || !d.validMAC(parts[2], "session", parts[0], parts[1]) {
		return "", "", errNoSession
	}
	exp, err := strconv.ParseInt(parts[1], 10, 64)
	if err != nil || !d.now().Before(time.Unix(exp, 0)) {
		return "", "", errNoSession
	}
	if _, ok := d.agents[parts[0]]; !ok {
		return "", "", errNoSession
	}
	return parts[0], c.Value, nil
}

// csrfToken binds a form to the session that rendered it.
func (d *Desk) csrfToken(session string) string { return d.mac("csrf", session) }

func (d *Desk) setCookie(w http.ResponseWriter, r *http.Request, name, value string, maxAge int) {
	http.SetCookie(w, &http.Cookie{
		Name: name, Value: value, Path: "/", MaxAge: maxAge,
		HttpOnly: true, SameSite: http.SameSiteStrictMode,
		Secure: r.TLS != nil || r.Header.Get("X-Forwarded-Proto") == "https",
	})
}

func randomToken() string {
	b := make([]byte, 24)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}
