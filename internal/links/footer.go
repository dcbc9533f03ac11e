package links

import (
	"strings"

	"github.com/outreach-engine/outreach/internal/channel"
)

// SMSLimit is the length of one text message; a short link is added to a
// text only when the whole message still fits.
const SMSLimit = 160

// Footer adds the signed links to messages and gives email senders their
// one-click unsubscribe headers.
type Footer struct {
	Signer *Signer
	// BaseURL is where the preference center is served, e.g.
	// https://prefs.example.com (no trailing slash needed).
	BaseURL string
	// Brand is the name customers know the sender by.
	Brand string
}

func (f *Footer) base() string { return strings.TrimRight(f.BaseURL, "/") }

// PreferencesURL is the preference center for a token.
func (f *Footer) PreferencesURL(token string) string { return f.base() + "/p/" + token }

// WhyURL is the "why did I get this?" page for a token.
func (f *Footer) WhyURL(token string) string { return f.base() + "/p/" + token + "/why" }

// UnsubscribeURL is the one-click unsubscribe endpoint for a token.
func (f *Footer) UnsubscribeURL(token string) string { return f.base() + "/u/" + token }

// AddLinks returns msg with the customer's signed links appended: a footer
// with the preference center, "why did I get this?" and unsubscribe for
// email; a short preference-center link for a text message when it still
// fits in one message. Voice and mail are returned unchanged. A message whose
// customer or touch cannot be signed is returned unchanged too.
func (f *Footer) AddLinks(msg channel.Message) channel.Message {
	if f == nil || f.Signer == nil || f.BaseURL == "" {
		return msg
	}
	// The expiry counts from the touch's reservation, not from now: every
	// attempt of a touch carries the same link, so a retry's text is the
	// same text and a provider lookup by content recognises it.
	expires := f.Signer.now().Add(f.Signer.ttl())
	if !msg.ReservedAt.IsZero() {
		expires = msg.ReservedAt.Add(f.Signer.ttl())
	}
	token, err := f.Signer.SignUntil(msg.CustomerID, msg.TouchID, expires)
	if err != nil {
		return msg
	}
	switch msg.Channel {
	case channel.Email:
		brand := f.Brand
		if brand == "" {
			brand = "us"
		}
		msg.Body = strings.TrimRight(msg.Body, "\n") + "\n\n--\n" +
			"Choose what you hear from " + brand + ", and how often: " + f.PreferencesURL(token) + "\n" +
			"Why did I get this? " + f.WhyURL(token) + "\n" +
			"Unsubscribe from offers by email: " + f.UnsubscribeURL(token) + "\n"
	case channel.SMS:
		withLink := strings.TrimRight(msg.Body, " ") + " Prefs: " + f.PreferencesURL(token)
		if len([]rune(withLink)) <= SMSLimit {
			msg.Body = withLink
		}
	}
	return msg
}

// UnsubscribeHeaders returns the RFC 8058 headers for an email touch:
// List-Unsubscribe with the signed HTTPS URL, and List-Unsubscribe-Post,
// which tells the mailbox provider it may unsubscribe with one POST.
func (f *Footer) UnsubscribeHeaders(customerID string, touchID int64) (map[string]string, error) {
	token, err := f.Signer.Sign(customerID, touchID)
	if err != nil {
		return nil, err
	}
	return map[string]string{
		"List-Unsubscribe":      "<" + f.UnsubscribeURL(token) + ">",
		"List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
	}, nil
}
