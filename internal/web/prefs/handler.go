// Package prefs serves the customer-facing pages every message links to: the
// preference center, one-click unsubscribe (RFC 8058), "why did I get this?"
// and "what we know about you" with a request to erase.
//
// Every page is reached through a signed link (package links) that names the
// customer and the touch: no login, no cookies, and a link that was altered or
// has expired changes nothing. Forms carry a CSRF token bound to the link. The
// pages are server-rendered, load no third-party script and are served with a
// strict Content-Security-Policy.
package prefs

import (
	"bytes"
	"context"
	"embed"
	"errors"
	"html/template"
	"log/slog"
	"net/http"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/outreach-engine/outreach/internal/customer"
	"github.com/outreach-engine/outreach/internal/links"
	choices "github.com/outreach-engine/outreach/internal/prefs"
)

//go:embed templates/*.html assets/*
var files embed.FS

var pages = template.Must(template.New("").Funcs(funcs).ParseFS(files, "templates/*.html"))

// Brand is how the pages name the company, as marketers configure it.
type Brand struct {
	// Name is the company name customers know.
	Name string
	// Sender is who the messages come from, e.g. "Ada at Acme <hello@acme.example>".
	Sender string
	// Promise is the short privacy promise shown on "what we know about you".
	Promise string
}

// DefaultPromise is shown when marketers set none.
const DefaultPromise = "We keep only what we need to send you what you asked for. " +
	"We never sell your data. You can see it all here, change it, or have it erased, at any time."

// Handler serves the pages. Create it with New.
type Handler struct {
	db       *pgxpool.Pool
	signer   *links.Signer
	journeys choices.Canceller
	brand    Brand
	logger   *slog.Logger
	mux      *http.ServeMux
}

// Options configure a Handler.
type Options struct {
	DB     *pgxpool.Pool
	Signer *links.Signer
	// Journeys cancels a customer's running journeys on erasure (a Temporal
	// client); nil leaves them running, to find no data and no consent.
	Journeys choices.Canceller
	Brand    Brand
	Logger   *slog.Logger
}

// New returns the handler of the preference pages.
func New(o Options) *Handler {
	h := &Handler{db: o.DB, signer: o.Signer, journeys: o.Journeys, brand: o.Brand, logger: o.Logger}
	if h.brand.Name == "" {
		h.brand.Name = "us"
	}
	if h.brand.Promise == "" {
		h.brand.Promise = DefaultPromise
	}
	if h.logger == nil {
		h.logger = slog.Default()
	}
	m := http.NewServeMux()
	m.HandleFunc("GET /assets/prefs.css", h.css)
	m.HandleFunc("GET /p/{token}", h.center)
	m.HandleFunc("POST /p/{token}", h.save)
	m.HandleFunc("GET /p/{token}/why", h.why)
	m.HandleFunc("GET /p/{token}/data", h.data)
	m.HandleFunc("POST /p/{token}/erase", h.erase)
	m.HandleFunc("GET /u/{token}", h.unsubscribePage)
	m.HandleFunc("POST /u/{token}", h.unsubscribe)
	h.mux = m
	return h
}

// ContentSecurityPolicy allows the page's own stylesheet and form posts to
// itself, and nothing else: no scripts, no frames, no third-party anything.
const ContentSecurityPolicy = "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; " +
	"frame-ancestors 'none'; base-uri 'none'"

// ServeHTTP serves the pages with security headers on every response.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	hd := w.Header()
	hd.Set("Content-Security-Policy", ContentSecurityPolicy)
	hd.Set("X-Content-Type-Options", "nosniff")
	// The token in the URL is a key: never leak it to another site, never cache it.
	hd.Set("Referrer-Policy", "no-referrer")
	hd.Set("Cache-Control", "no-store")
	hd.Set("X-Frame-Options", "DENY")
	h.mux.ServeHTTP(w, r)
}

func (h *Handler) css(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/css; charset=utf-8")
	w.Header().Set("Cache-Control", "public, max-age=3600")
	b, _ := files.ReadFile("assets/prefs.css")
	_, _ = w.Write(b)
}

// visit is a verified request: the link's claims and the customer it names.
type visit struct {
	token    string
	claims   links.Claims
	customer customer.Customer
	erased   bool
}

// open verifies the link and loads the customer. On failure it has already
// written the plain error page and returns false.
func (h *Handler) open(w http.ResponseWriter, r *http.Request) (visit, bool) {
	tok := r.PathValue("token")
	claims, err := h.signer.Verify(tok)
	if err != nil {
		status := http.StatusForbidden
		if errors.Is(err, links.ErrExpired) {
			status = http.StatusGone
		}
		h.render(w, status, "error", h.page(visit{}, "This link does not work", map[string]any{"Expired": status == http.StatusGone}))
		return visit{}, false
	}
	v := visit{token: tok, claims: claims}
	ctx := r.Context()
	c, err := customer.Get(ctx, h.db, claims.CustomerID)
	if errors.Is(err, customer.ErrNotFound) {
		h.render(w, http.StatusNotFound, "error", h.page(visit{}, "This link does not work", nil))
		return visit{}, false
	}
	if err != nil {
		h.fail(w, err)
		return visit{}, false
	}
	v.customer = c
	if err := h.db.QueryRow(ctx, `select erased_at is not null from customers where id = $1`, c.ID).Scan(&v.erased); err != nil {
		h.fail(w, err)
		return visit{}, false
	}
	if v.erased {
		h.render(w, http.StatusOK, "erased", h.page(v, "Your data was erased", nil))
		return visit{}, false
	}
	return v, true
}

// checkCSRF refuses a form post without the token bound to this link.
func (h *Handler) checkCSRF(w http.ResponseWriter, r *http.Request, v visit) bool {
	if !h.signer.CheckCSRF(v.token, r.PostFormValue("csrf")) {
		h.render(w, http.StatusForbidden, "error", h.page(visit{}, "This form has expired", map[string]any{"Form": true}))
		return false
	}
	return true
}

// page is the data every template gets.
type page struct {
	Title string
	Brand Brand
	Token string
	CSRF  string
	Name  string
	Data  any
}

func (h *Handler) page(v visit, title string, data any) page {
	p := page{Title: title, Brand: h.brand, Data: data}
	if v.token != "" {
		p.Token, p.CSRF = v.token, h.signer.CSRF(v.token)
		p.Name = v.customer.FirstName()
	}
	return p
}

func (h *Handler) render(w http.ResponseWriter, status int, name string, p page) {
	var buf bytes.Buffer
	if err := pages.ExecuteTemplate(&buf, name, p); err != nil {
		h.logger.Error("render preference page", "page", name, "error", err)
		http.Error(w, "This page could not be shown. Nothing was changed by showing it.", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = buf.WriteTo(w)
}

func (h *Handler) fail(w http.ResponseWriter, err error) {
	if !errors.Is(err, context.Canceled) {
		h.logger.Error("preference page", "error", err)
	}
	h.render(w, http.StatusInternalServerError, "error", h.page(visit{}, "Something went wrong on our side", map[string]any{"Ours": true}))
}
