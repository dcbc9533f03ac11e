package codec

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/sdk/converter"
	"google.golang.org/protobuf/encoding/protojson"
)

func newKey(t testing.TB) string {
	t.Helper()
	k := make([]byte, KeySize)
	_, err := rand.Read(k)
	require.NoError(t, err)
	return base64.StdEncoding.EncodeToString(k)
}

func payloadOf(t testing.TB, v any) *commonpb.Payload {
	t.Helper()
	p, err := converter.GetDefaultDataConverter().ToPayload(v)
	require.NoError(t, err)
	return p
}

func TestRoundTripHidesPlaintext(t *testing.T) {
	c, err := ParseKeys("k1:" + newKey(t))
	require.NoError(t, err)
	in := []*commonpb.Payload{payloadOf(t, map[string]string{"email": "ada@example.com"}), payloadOf(t, 42)}
	enc, err := c.Encode(in)
	require.NoError(t, err)
	require.Len(t, enc, 2)
	for _, p := range enc {
		assert.Equal(t, Encoding, string(p.Metadata[converter.MetadataEncoding]))
		assert.Equal(t, "k1", string(p.Metadata[MetadataKeyID]))
		raw, err := p.Marshal()
		require.NoError(t, err)
		assert.NotContains(t, string(raw), "ada@example.com")
		assert.NotContains(t, string(raw), "json/plain", "the inner encoding is encrypted too")
	}
	dec, err := c.Decode(enc)
	require.NoError(t, err)
	var got map[string]string
	require.NoError(t, converter.GetDefaultDataConverter().FromPayload(dec[0], &got))
	assert.Equal(t, "ada@example.com", got["email"])
	var n int
	require.NoError(t, converter.GetDefaultDataConverter().FromPayload(dec[1], &n))
	assert.Equal(t, 42, n)
}

func TestSamePlaintextEncryptsDifferently(t *testing.T) {
	c, err := ParseKeys("k1:" + newKey(t))
	require.NoError(t, err)
	p := payloadOf(t, "same")
	a, err := c.Encode([]*commonpb.Payload{p})
	require.NoError(t, err)
	b, err := c.Encode([]*commonpb.Payload{p})
	require.NoError(t, err)
	assert.NotEqual(t, a[0].Data, b[0].Data, "a fresh nonce per payload")
}

func TestKeyRotation(t *testing.T) {
	k1, k2 := newKey(t), newKey(t)
	old, err := ParseKeys("k1:" + k1)
	require.NoError(t, err)
	written, err := old.Encode([]*commonpb.Payload{payloadOf(t, "before rotation")})
	require.NoError(t, err)

	rotated, err := ParseKeys("k2:" + k2 + ", k1:" + k1)
	require.NoError(t, err)
	assert.Equal(t, "k2", rotated.EncryptKeyID())
	dec, err := rotated.Decode(written)
	require.NoError(t, err, "the old key still decrypts")
	var s string
	require.NoError(t, converter.GetDefaultDataConverter().FromPayload(dec[0], &s))
	assert.Equal(t, "before rotation", s)

	fresh, err := rotated.Encode([]*commonpb.Payload{payloadOf(t, "after")})
	require.NoError(t, err)
	assert.Equal(t, "k2", string(fresh[0].Metadata[MetadataKeyID]))

	// Once k1 is retired, its payloads name the missing key.
	retired, err := ParseKeys("k2:" + k2)
	require.NoError(t, err)
	_, err = retired.Decode(written)
	require.Error(t, err)
	assert.Contains(t, err.Error(), `key "k1" is not configured`)
}

func TestTamperedOrRelabelledPayloadsFail(t *testing.T) {
	k1, k2 := newKey(t), newKey(t)
	c, err := ParseKeys("k1:" + k1 + ",k2:" + k2)
	require.NoError(t, err)
	enc, err := c.Encode([]*commonpb.Payload{payloadOf(t, "secret")})
	require.NoError(t, err)

	flipped := &commonpb.Payload{Metadata: enc[0].Metadata, Data: bytes.Clone(enc[0].Data)}
	flipped.Data[len(flipped.Data)-1] ^= 1
	_, err = c.Decode([]*commonpb.Payload{flipped})
	assert.Error(t, err)

	relabelled := &commonpb.Payload{Metadata: map[string][]byte{
		converter.MetadataEncoding: []byte(Encoding), MetadataKeyID: []byte("k2"),
	}, Data: enc[0].Data}
	_, err = c.Decode([]*commonpb.Payload{relabelled})
	assert.Error(t, err)

	truncated := &commonpb.Payload{Metadata: enc[0].Metadata, Data: enc[0].Data[:4]}
	_, err = c.Decode([]*commonpb.Payload{truncated})
	assert.ErrorContains(t, err, "truncated")
}

func TestUnencryptedPayloadsPassThrough(t *testing.T) {
	c, err := ParseKeys("k1:" + newKey(t))
	require.NoError(t, err)
	p := payloadOf(t, "written before encryption")
	dec, err := c.Decode([]*commonpb.Payload{p})
	require.NoError(t, err)
	assert.Same(t, p, dec[0])
}

func TestParseKeysErrors(t *testing.T) {
	good := newKey(t)
	short := base64.StdEncoding.EncodeToString(make([]byte, 16))
	for _, tc := range []struct{ spec, want string }{
		{"", "payload key 1 of 1 is empty"},
		{"k1:" + good + ",", "payload key 2 of 2 is empty"},
		{good, "want id:base64key"},
		{"bad id:" + good, "id must be"},
		{"k1:" + good + ",k1:" + good, `id "k1" is given twice`},
		{"k1:not base64!", "not valid base64"},
		{"k1:" + short, "key is 16 bytes, want 32"},
	} {
		t.Run(tc.want, func(t *testing.T) {
			_, err := ParseKeys(tc.spec)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
			assert.NotContains(t, err.Error(), good, "errors never echo key material")
		})
	}
	// URL-safe and unpadded keys are accepted too.
	raw := make([]byte, KeySize)
	_, err := ParseKeys("k1:" + base64.RawURLEncoding.EncodeToString(raw))
	assert.NoError(t, err)
}

func postPayloads(t *testing.T, h http.Handler, path, auth string, ps []*commonpb.Payload) *httptest.ResponseRecorder {
	t.Helper()
	body, err := protojson.Marshal(&commonpb.Payloads{Payloads: ps})
	require.NoError(t, err)
	req := httptest.NewRequest(http.MethodPost, path, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Namespace", "default")
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func TestHandlerDecodesForAuthorizedCallersOnly(t *testing.T) {
	c, err := ParseKeys("k1:" + newKey(t))
	require.NoError(t, err)
	const token = "s3cret-token-for-tests"
	h, err := Handler(c, token, []string{"http://localhost:8233"})
	require.NoError(t, err)
	enc, err := c.Encode([]*commonpb.Payload{payloadOf(t, "ada@example.com")})
	require.NoError(t, err)

	for name, auth := range map[string]string{
		"no token": "", "wrong token": "Bearer wrong-token-of-same-len", "not bearer": token,
	} {
		rec := postPayloads(t, h, "/codec/decode", auth, enc)
		assert.Equal(t, http.StatusUnauthorized, rec.Code, name)
		assert.NotContains(t, rec.Body.String(), "ada@example.com", name)
	}

	rec := postPayloads(t, h, "/codec/decode", "Bearer "+token, enc)
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	var out commonpb.Payloads
	require.NoError(t, protojson.Unmarshal(rec.Body.Bytes(), &out))
	var s string
	require.NoError(t, converter.GetDefaultDataConverter().FromPayload(out.Payloads[0], &s))
	assert.Equal(t, "ada@example.com", s)

	rec = postPayloads(t, h, "/codec/encode", "Bearer "+token, []*commonpb.Payload{payloadOf(t, "x")})
	require.Equal(t, http.StatusOK, rec.Code)
	require.NoError(t, protojson.Unmarshal(rec.Body.Bytes(), &out))
	assert.Equal(t, Encoding, string(out.Payloads[0].Metadata[converter.MetadataEncoding]))
}

func TestHandlerCORS(t *testing.T) {
	c, err := ParseKeys("k1:" + newKey(t))
	require.NoError(t, err)
	h, err := Handler(c, "s3cret-token-for-tests", ParseOrigins("http://localhost:8233/, https://ui.example.com"))
	require.NoError(t, err)

	pre := httptest.NewRequest(http.MethodOptions, "/codec/decode", nil)
	pre.Header.Set("Origin", "http://localhost:8233")
	pre.Header.Set("Access-Control-Request-Method", "POST")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, pre)
	assert.Equal(t, http.StatusNoContent, rec.Code)
	assert.Equal(t, "http://localhost:8233", rec.Header().Get("Access-Control-Allow-Origin"))
	assert.Contains(t, rec.Header().Get("Access-Control-Allow-Headers"), "Authorization")

	pre.Header.Set("Origin", "https://evil.example.net")
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, pre)
	assert.Empty(t, rec.Header().Get("Access-Control-Allow-Origin"))
	assert.Equal(t, http.StatusUnauthorized, rec.Code, "an unknown origin gets no preflight pass")
}

func TestHandlerRefusesWeakToken(t *testing.T) {
	c, err := ParseKeys("k1:" + newKey(t))
	require.NoError(t, err)
	_, err = Handler(c, "", nil)
	assert.ErrorContains(t, err, "OUTREACH_CODEC_AUTH_TOKEN")
	_, err = Handler(c, "short", nil)
	assert.Error(t, err)
}

func BenchmarkEncodeDecode(b *testing.B) {
	c, err := ParseKeys("k1:" + newKey(b))
	require.NoError(b, err)
	p := payloadOf(b, map[string]string{"customer_id": "c-001", "body": strings.Repeat("x", 1024)})
	b.ReportAllocs()
	for b.Loop() {
		enc, err := c.Encode([]*commonpb.Payload{p})
		if err != nil {
			b.Fatal(err)
		}
		if _, err := c.Decode(enc); err != nil {
			b.Fatal(err)
		}
	}
}
