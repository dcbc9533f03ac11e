package config

import (
	"fmt"
	"os"
	"time"
)

// Web is the configuration of the customer-facing HTTP side: the server
// address, the signed links in messages and the brand on the pages.
type Web struct {
	HTTPAddr  string
	PublicURL string
	// LinkSecret and LinkSecretPrevious sign customer links; never log them.
	LinkSecret         []byte
	LinkSecretPrevious []byte
	LinkTTL            time.Duration
	BrandName          string
	BrandSender        string
	PrivacyPromise     string
}

// LinksEnabled reports whether messages carry signed links: it needs a
// secret and the public URL the links point to.
func (w Web) LinksEnabled() bool { return len(w.LinkSecret) > 0 && w.PublicURL != "" }

// LoadWeb reads the web settings from the environment.
func LoadWeb() (Web, error) {
	w := Web{
		HTTPAddr:           env("OUTREACH_HTTP_ADDR"),
		PublicURL:          env("OUTREACH_PUBLIC_URL"),
		LinkSecret:         []byte(os.Getenv("OUTREACH_LINK_SECRET")),
		LinkSecretPrevious: []byte(os.Getenv("OUTREACH_LINK_SECRET_PREVIOUS")),
		BrandName:          env("OUTREACH_BRAND_NAME"),
		BrandSender:        env("OUTREACH_BRAND_SENDER"),
		PrivacyPromise:     env("OUTREACH_PRIVACY_PROMISE"),
	}
	ttl, err := time.ParseDuration(env("OUTREACH_LINK_TTL"))
	if err != nil || ttl <= 0 {
		return w, fmt.Errorf("OUTREACH_LINK_TTL: %q is not a positive duration such as 2160h", env("OUTREACH_LINK_TTL"))
	}
	w.LinkTTL = ttl
	if len(w.LinkSecret) == 0 && len(w.LinkSecretPrevious) > 0 {
		return w, fmt.Errorf("OUTREACH_LINK_SECRET_PREVIOUS is set but OUTREACH_LINK_SECRET is not")
	}
	if w.PublicURL != "" && len(w.LinkSecret) == 0 {
		return w, fmt.Errorf("OUTREACH_PUBLIC_URL is set but OUTREACH_LINK_SECRET is not: links cannot be signed")
	}
	return w, nil
}
