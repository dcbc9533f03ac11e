package config

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func testKey(t *testing.T) string {
	t.Helper()
	k := make([]byte, 32)
	_, err := rand.Read(k)
	require.NoError(t, err)
	return base64.StdEncoding.EncodeToString(k)
}

func TestLoadWithoutOpsSettingsIsPlainDev(t *testing.T) {
	for _, s := range Settings {
		t.Setenv(s.Env, "")
	}
	c, err := Load()
	require.NoError(t, err)
	assert.Equal(t, ":9090", c.Ops.Addr)
	assert.Nil(t, c.Ops.Codec)
	opts, err := c.ClientOptions(c.Logger())
	require.NoError(t, err)
	assert.Nil(t, opts.ConnectionOptions.TLS, "the dev server speaks plain gRPC")
	assert.Nil(t, opts.DataConverter)
	assert.Nil(t, opts.Credentials)
}

func TestLoadRejectsBadOpsSettings(t *testing.T) {
	key := testKey(t)
	for _, tc := range []struct {
		env  map[string]string
		want string
	}{
		{map[string]string{"OUTREACH_PAYLOAD_KEYS": "k1"}, "OUTREACH_PAYLOAD_KEYS: payload key 1 of 1: want id:base64key"},
		{map[string]string{"OUTREACH_PAYLOAD_KEYS": "k1:c2hvcnQ="}, "OUTREACH_PAYLOAD_KEYS: payload key \"k1\": key is 5 bytes, want 32"},
		{map[string]string{"OUTREACH_PAYLOAD_KEYS": "k1:" + key, "OUTREACH_CODEC_AUTH_TOKEN": "short"}, "OUTREACH_CODEC_AUTH_TOKEN: must be at least 16 characters"},
		{map[string]string{"OUTREACH_CODEC_AUTH_TOKEN": "a-long-enough-token"}, "OUTREACH_PAYLOAD_KEYS is empty"},
		{map[string]string{"TEMPORAL_TLS_CERT": "/etc/temporal/tls.crt"}, "TEMPORAL_TLS_CERT and TEMPORAL_TLS_KEY go together"},
	} {
		t.Run(tc.want, func(t *testing.T) {
			for _, s := range Settings {
				t.Setenv(s.Env, tc.env[s.Env])
			}
			_, err := Load()
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
			assert.NotContains(t, err.Error(), key)
		})
	}
}

func TestAPIKeyAndEncryptionReachClientOptions(t *testing.T) {
	for _, s := range Settings {
		t.Setenv(s.Env, "")
	}
	t.Setenv("TEMPORAL_API_KEY", "cloud-api-key")
	t.Setenv("TEMPORAL_ADDRESS", "ns.acct.tmprl.cloud:7233")
	t.Setenv("OUTREACH_PAYLOAD_KEYS", "k2:"+testKey(t)+",k1:"+testKey(t))
	c, err := Load()
	require.NoError(t, err)
	require.NotNil(t, c.Ops.Codec)
	assert.Equal(t, "k2", c.Ops.Codec.EncryptKeyID())
	opts, err := c.ClientOptions(c.Logger())
	require.NoError(t, err)
	require.NotNil(t, opts.ConnectionOptions.TLS, "an API key needs TLS")
	assert.Equal(t, uint16(tls.VersionTLS12), opts.ConnectionOptions.TLS.MinVersion)
	assert.NotNil(t, opts.Credentials)
	assert.NotNil(t, opts.DataConverter)
	assert.NotNil(t, opts.FailureConverter)
}

func TestMissingClientCertificateIsReported(t *testing.T) {
	o := Ops{TLSCert: "/nonexistent/tls.crt", TLSKey: "/nonexistent/tls.key"}
	_, err := o.TLS()
	assert.ErrorContains(t, err, "TEMPORAL_TLS_CERT/TEMPORAL_TLS_KEY")
	o = Ops{TLSCA: "/nonexistent/ca.pem"}
	_, err = o.TLS()
	assert.ErrorContains(t, err, "TEMPORAL_TLS_CA")
}

func TestClientCertificateIsLoaded(t *testing.T) {
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "outreach-worker"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &priv.PublicKey, priv)
	require.NoError(t, err)
	keyDER, err := x509.MarshalECPrivateKey(priv)
	require.NoError(t, err)
	dir := t.TempDir()
	certPath, keyPath := filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key")
	require.NoError(t, os.WriteFile(certPath, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600))
	require.NoError(t, os.WriteFile(keyPath, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), 0o600))

	cfg, err := Ops{TLSCert: certPath, TLSKey: keyPath, TLSCA: certPath, TLSServerName: "temporal.internal"}.TLS()
	require.NoError(t, err)
	require.Len(t, cfg.Certificates, 1)
	assert.NotNil(t, cfg.RootCAs)
	assert.Equal(t, "temporal.internal", cfg.ServerName)
}
