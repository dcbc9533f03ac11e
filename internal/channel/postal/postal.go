// Package postal delivers mail through a print-and-mail API in the style of
// Lob: the address is verified first, then a letter (or, for promotions, a
// postcard) is created with the touch id as Idempotency-Key, so a retried
// request never prints a second piece.
package postal

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/outreach-engine/outreach/internal/channel"
)

// DefaultBaseURL is the API host.
const DefaultBaseURL = "https://api.lob.com"

// Config configures the sender.
type Config struct {
	APIKey string
	// BaseURL overrides DefaultBaseURL (tests).
	BaseURL string
	// FromAddressID is the sender's address as stored at the provider (adr_...).
	FromAddressID string
	HTTP          *http.Client
}

// Sender sends letters and postcards.
type Sender struct {
	cfg Config
}

// New checks the configuration and returns a sender.
func New(cfg Config) (*Sender, error) {
	if cfg.APIKey == "" {
		return nil, errors.New("postal: API key is required")
	}
	if cfg.FromAddressID == "" {
		return nil, errors.New("postal: from address id is required")
	}
	if cfg.BaseURL == "" {
		cfg.BaseURL = DefaultBaseURL
	}
	cfg.BaseURL = strings.TrimRight(cfg.BaseURL, "/")
	if cfg.HTTP == nil {
		cfg.HTTP = &http.Client{Timeout: 12 * time.Second}
	}
	return &Sender{cfg: cfg}, nil
}

// Address is the API's address object.
type Address struct {
	Name    string `json:"name,omitempty"`
	Line1   string `json:"address_line1"`
	Line2   string `json:"address_line2,omitempty"`
	City    string `json:"address_city,omitempty"`
	State   string `json:"address_state,omitempty"`
	Zip     string `json:"address_zip,omitempty"`
	Country string `json:"address_country"`
}

// Piece is a letter or a postcard as the API takes it.
type Piece struct {
	Description string            `json:"description"`
	To          Address           `json:"to"`
	From        string            `json:"from"`
	File        string            `json:"file,omitempty"`  // letters
	Color       *bool             `json:"color,omitempty"` // letters
	Front       string            `json:"front,omitempty"` // postcards
	Back        string            `json:"back,omitempty"`  // postcards
	Metadata    map[string]string `json:"metadata"`
}

// Kind returns which piece a message becomes: promotions are postcards,
// everything else a letter in an envelope, so nothing personal is printed
// where others can read it.
func Kind(msg channel.Message) string {
	if msg.Intent == channel.Promotional {
		return "postcards"
	}
	return "letters"
}

// Send verifies the address, then creates the piece.
func (s *Sender) Send(ctx context.Context, msg channel.Message) (channel.Receipt, error) {
	if msg.Channel != channel.Mail {
		return channel.Receipt{}, &channel.ProviderError{Provider: "postal", Kind: channel.Rejected,
			Reason: "provider.wrong_channel", Detail: "got a " + string(msg.Channel) + " message"}
	}
	if msg.Postal == nil || msg.Postal.Line1 == "" || msg.Postal.Country == "" {
		return channel.Receipt{}, &channel.ProviderError{Provider: "postal", Kind: channel.Rejected,
			Reason: "mail.address_incomplete"}
	}
	to := Address{
		Name: msg.Postal.Name, Line1: msg.Postal.Line1, Line2: msg.Postal.Line2, City: msg.Postal.City,
		State: msg.Postal.Region, Zip: msg.Postal.PostalCode, Country: strings.ToUpper(msg.Postal.Country),
	}
	if err := s.verify(ctx, to); err != nil {
		return channel.Receipt{}, err
	}
	touch := strconv.FormatInt(msg.TouchID, 10)
	piece := Piece{
		Description: "outreach touch " + touch,
		To:          to,
		From:        s.cfg.FromAddressID,
		Metadata:    map[string]string{"touch_id": touch, "customer_id": msg.CustomerID},
	}
	html := "<html><body><p>" + htmlEscape(msg.Body) + "</p></body></html>"
	kind := Kind(msg)
	if kind == "postcards" {
		piece.Front, piece.Back = html, html
	} else {
		color := false
		piece.File, piece.Color = html, &color
	}
	var out struct {
		ID string `json:"id"`
	}
	if err := s.do(ctx, "/v1/"+kind, touch, piece, &out); err != nil {
		return channel.Receipt{}, err
	}
	return channel.Receipt{ProviderID: out.ID}, nil
}

// verify asks the API whether the address can receive mail.
func (s *Sender) verify(ctx context.Context, a Address) error {
	path, body := "/v1/intl_verifications", map[string]string{
		"primary_line": a.Line1, "secondary_line": a.Line2, "city": a.City, "state": a.State,
		"postal_code": a.Zip, "country": a.Country,
	}
	if a.Country == "US" {
		path = "/v1/us_verifications"
		body = map[string]string{"primary_line": a.Line1, "secondary_line": a.Line2,
			"city": a.City, "state": a.State, "zip_code": a.Zip}
	}
	var out struct {
		Deliverability string `json:"deliverability"`
	}
	if err := s.do(ctx, path, "", body, &out); err != nil {
		return err
	}
	switch out.Deliverability {
	case "deliverable", "deliverable_unnecessary_unit", "deliverable_incorrect_unit",
		"deliverable_missing_unit", "deliverable_missing_info":
		return nil
	}
	return &channel.ProviderError{Provider: "postal", Kind: channel.Rejected, Reason: "mail.undeliverable",
		Detail: "address verification says " + strconv.Quote(out.Deliverability)}
}

func (s *Sender) do(ctx context.Context, path, idempotencyKey string, in, out any) error {
	body, err := json.Marshal(in)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.cfg.BaseURL+path, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.SetBasicAuth(s.cfg.APIKey, "")
	req.Header.Set("Content-Type", "application/json")
	if idempotencyKey != "" {
		req.Header.Set("Idempotency-Key", idempotencyKey)
	}
	res, err := s.cfg.HTTP.Do(req)
	if err != nil {
		return fmt.Errorf("postal %s: %w", path, err)
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(res.Body, 1<<20))
	if err != nil {
		return fmt.Errorf("postal %s: %w", path, err)
	}
	if res.StatusCode >= 200 && res.StatusCode < 300 {
		if err := json.Unmarshal(raw, out); err != nil {
			return fmt.Errorf("postal %s: decode answer: %w", path, err)
		}
		return nil
	}
	pe := &channel.ProviderError{Provider: "postal", Status: res.StatusCode, Detail: errorDetail(raw)}
	switch {
	case res.StatusCode == http.StatusTooManyRequests:
		pe.Kind, pe.Reason = channel.RateLimited, "provider.rate_limited"
		if n, err := strconv.Atoi(res.Header.Get("Retry-After")); err == nil && n >= 0 {
			pe.RetryAfter = time.Duration(n) * time.Second
		}
	case res.StatusCode >= 500:
		pe.Kind, pe.Reason = channel.Unavailable, "provider.unavailable"
	default:
		pe.Kind, pe.Reason = channel.Rejected, "provider.rejected"
	}
	return pe
}

func errorDetail(raw []byte) string {
	var e struct {
		Error struct {
			Message string `json:"message"`
			Code    string `json:"code"`
		} `json:"error"`
	}
	if json.Unmarshal(raw, &e) != nil {
		return ""
	}
	return e.Error.Code
}

var htmlReplacer = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;", "'", "&#39;", "\n", "<br>")

func htmlEscape(s string) string { return htmlReplacer.Replace(s) }
