package codec

import (
	"crypto/subtle"
	"errors"
	"net/http"
	"slices"
	"strings"

	"go.temporal.io/sdk/converter"
)

// MinTokenLength is the shortest bearer token the codec endpoint accepts.
const MinTokenLength = 16

// Handler serves Temporal's remote codec protocol (POST .../encode and
// .../decode) for the Temporal UI and CLI, so that authorized operators can
// read encrypted payloads. Every request must carry "Authorization: Bearer
// <token>"; the token is compared in constant time. Browsers calling from one
// of allowedOrigins get CORS headers (the UI sends the token and the
// X-Namespace header, so preflight requests are answered without a token).
func Handler(c *Codec, token string, allowedOrigins []string) (http.Handler, error) {
	if len(token) < MinTokenLength {
		return nil, errors.New("codec endpoint: OUTREACH_CODEC_AUTH_TOKEN must be set to at least 16 characters")
	}
	inner := converter.NewPayloadCodecHTTPHandler(c)
	want := []byte("Bearer " + token)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if origin := r.Header.Get("Origin"); origin != "" && slices.Contains(allowedOrigins, origin) {
			h := w.Header()
			h.Set("Access-Control-Allow-Origin", origin)
			h.Set("Access-Control-Allow-Credentials", "true")
			h.Set("Access-Control-Allow-Methods", "POST, OPTIONS")
			h.Set("Access-Control-Allow-Headers", "Authorization, Content-Type, X-Namespace")
			h.Add("Vary", "Origin")
			if r.Method == http.MethodOptions {
				w.WriteHeader(http.StatusNoContent)
				return
			}
		}
		got := []byte(r.Header.Get("Authorization"))
		if subtle.ConstantTimeCompare(got, want) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="outreach-codec"`)
			http.Error(w, "a valid bearer token is required", http.StatusUnauthorized)
			return
		}
		inner.ServeHTTP(w, r)
	}), nil
}

// ParseOrigins splits a comma-separated list of origins such as
// "http://localhost:8233,https://temporal.example.com".
func ParseOrigins(s string) []string {
	var out []string
	for o := range strings.SplitSeq(s, ",") {
		if o = strings.TrimRight(strings.TrimSpace(o), "/"); o != "" {
			out = append(out, o)
		}
	}
	return out
}
