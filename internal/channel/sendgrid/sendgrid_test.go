package sendgrid_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/temporal"

	"github.com/outreach-engine/outreach/internal/channel"
	"github.com/outreach-engine/outreach/internal/channel/sendgrid"
	"github.com/outreach-engine/outreach/internal/links"
)

func newSigner(t *testing.T) *links.Signer {
	t.Helper()
	signer, err := links.NewSigner([]byte("link-secret-0123456789"), nil)
	require.NoError(t, err)
	return signer
}

func newSender(t *testing.T, base string, sandbox bool) *sendgrid.Sender {
	t.Helper()
	s, err := sendgrid.New(sendgrid.Config{
		APIKey: "SG.test-key", BaseURL: base, From: "hello@shop.example", FromName: "Shop",
		Unsubscribe: &links.Footer{Signer: newSigner(t), BaseURL: "https://prefs.shop.example/"}, Sandbox: sandbox,
	})
	require.NoError(t, err)
	return s
}

// capture is a SendGrid endpoint that keeps the JSON bodies it accepts.
func capture(t *testing.T) (*httptest.Server, func() []map[string]any) {
	t.Helper()
	var mu sync.Mutex
	var got []map[string]any
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var m map[string]any
		body, _ := io.ReadAll(r.Body)
		if json.Unmarshal(body, &m) != nil {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		mu.Lock()
		got = append(got, m)
		mu.Unlock()
		w.WriteHeader(http.StatusAccepted)
	}))
	t.Cleanup(srv.Close)
	return srv, func() []map[string]any {
		mu.Lock()
		defer mu.Unlock()
		return append([]map[string]any(nil), got...)
	}
}

var msg = channel.Message{
	TouchID: 42, CustomerID: "c-1", Channel: channel.Email, Intent: channel.Promotional,
	To: "ada@example.com", Subject: "Spring offer", Body: "Hi Ada", WorkflowID: "journey:spring:c-1",
}

// TestSendSpeaksMailSendV3 checks the request SendGrid receives: path,
// bearer key, recipient, custom_args naming the touch, categories, the
// one-click unsubscribe headers and sandbox mode.
func TestSendSpeaksMailSendV3(t *testing.T) {
	t.Parallel()
	var got map[string]any
	var auth, path, ctype string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		path, auth, ctype = r.Method+" "+r.URL.Path, r.Header.Get("Authorization"), r.Header.Get("Content-Type")
		body, _ := io.ReadAll(r.Body)
		require.NoError(t, json.Unmarshal(body, &got))
		w.Header().Set("X-Message-Id", "sg-msg-1")
		w.WriteHeader(http.StatusAccepted)
	}))
	defer srv.Close()

	s := newSender(t, srv.URL, true)
	r, err := s.Send(context.Background(), msg)
	require.NoError(t, err)
	require.Equal(t, "sg-msg-1", r.ProviderID)
	require.Equal(t, "POST /v3/mail/send", path)
	require.Equal(t, "Bearer SG.test-key", auth)
	require.Equal(t, "application/json", ctype)

	require.Equal(t, "Spring offer", got["subject"])
	require.Equal(t, map[string]any{"email": "hello@shop.example", "name": "Shop"}, got["from"])
	pers := got["personalizations"].([]any)[0].(map[string]any)
	require.Equal(t, "ada@example.com", pers["to"].([]any)[0].(map[string]any)["email"])
	require.Equal(t, map[string]any{"touch_id": "42", "customer_id": "c-1", "workflow_id": "journey:spring:c-1"}, got["custom_args"])
	require.ElementsMatch(t, []any{"outreach", "promotional"}, got["categories"])
	headers := got["headers"].(map[string]any)
	require.Regexp(t, `^<https://prefs\.shop\.example/u/[A-Za-z0-9_-]+>$`, headers["List-Unsubscribe"])
	token := strings.TrimSuffix(strings.TrimPrefix(headers["List-Unsubscribe"].(string), "<https://prefs.shop.example/u/"), ">")
	claims, err := newSigner(t).Verify(token)
	require.NoError(t, err, "the link is signed by the preference center's secret")
	require.Equal(t, "c-1", claims.CustomerID)
	require.Equal(t, int64(42), claims.TouchID)
	require.Equal(t, "List-Unsubscribe=One-Click", headers["List-Unsubscribe-Post"])
	require.Equal(t, map[string]any{"sandbox_mode": map[string]any{"enable": true}}, got["mail_settings"])
	require.Equal(t, []any{map[string]any{"type": "text/plain", "value": "Hi Ada"}}, got["content"])
}

// TestOnlyPromotionalEmailCarriesUnsubscribeHeaders: RFC 8058 one-click
// unsubscribe is for bulk mail; a receipt or a caring message has no list to
// leave and carries no List-Unsubscribe headers.
func TestOnlyPromotionalEmailCarriesUnsubscribeHeaders(t *testing.T) {
	t.Parallel()
	srv, mails := capture(t)
	s := newSender(t, srv.URL, false)
	for _, intent := range []channel.Intent{channel.Transactional, channel.Caring, channel.Promotional} {
		m := msg
		m.Intent = intent
		_, err := s.Send(context.Background(), m)
		require.NoError(t, err, intent)
	}
	got := mails()
	require.Len(t, got, 3)
	for _, m := range got[:2] {
		require.NotContains(t, m, "headers", "%v mail has no unsubscribe headers", m["categories"])
	}
	require.Contains(t, got[2]["headers"], "List-Unsubscribe")
	require.Contains(t, got[2]["headers"], "List-Unsubscribe-Post")
}

// TestPromotionalEmailWithoutUnsubscribeLinkIsRefused: a promotional email
// whose link cannot be signed (no customer) never leaves, and the refusal is
// final rather than retried.
func TestPromotionalEmailWithoutUnsubscribeLinkIsRefused(t *testing.T) {
	t.Parallel()
	srv, mails := capture(t)
	m := msg
	m.CustomerID = ""
	_, err := newSender(t, srv.URL, false).Send(context.Background(), m)
	pe, ok := channel.AsProviderError(err)
	require.True(t, ok, "%v", err)
	require.Equal(t, channel.Rejected, pe.Kind)
	require.Equal(t, "email.no_unsubscribe_link", pe.Reason)
	require.Empty(t, mails())

	_, err = sendgrid.New(sendgrid.Config{APIKey: "SG.k", From: "hello@shop.example"})
	require.ErrorContains(t, err, "unsubscribe")
}

func TestSendClassifiesErrors(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name      string
		status    int
		header    map[string]string
		kind      channel.ErrorKind
		retryable bool
		delay     time.Duration
	}{
		{"bad request", 400, nil, channel.Rejected, false, 0},
		{"forbidden", 403, nil, channel.Rejected, false, 0},
		{"rate limited", 429, map[string]string{"Retry-After": "7"}, channel.RateLimited, true, 7 * time.Second},
		{"server error", 503, nil, channel.Unavailable, true, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				for k, v := range tc.header {
					w.Header().Set(k, v)
				}
				w.WriteHeader(tc.status)
				_, _ = io.WriteString(w, `{"errors":[{"message":"Does not contain a valid address.","field":"personalizations.0.to"}]}`)
			}))
			defer srv.Close()
			_, err := newSender(t, srv.URL, false).Send(context.Background(), msg)
			pe, ok := channel.AsProviderError(err)
			require.True(t, ok, "%v", err)
			require.Equal(t, tc.kind, pe.Kind)
			require.Equal(t, tc.status, pe.Status)
			var appErr *temporal.ApplicationError
			if tc.kind != channel.Unavailable {
				require.ErrorAs(t, pe.Temporal(), &appErr)
				require.Equal(t, !tc.retryable, appErr.NonRetryable())
				require.Equal(t, tc.delay, appErr.NextRetryDelay())
			}
			require.NotContains(t, err.Error(), "ada@example.com", "errors never quote the recipient")
		})
	}
}

func TestLookupIsUnsupported(t *testing.T) {
	t.Parallel()
	_, found, err := newSender(t, "http://127.0.0.1:1", false).Lookup(context.Background(), msg, time.Now())
	require.False(t, found)
	require.ErrorIs(t, err, channel.ErrLookupUnsupported)
}
