package config

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"os"

	"go.temporal.io/sdk/client"
	tlog "go.temporal.io/sdk/log"

	"github.com/outreach-engine/outreach/internal/codec"
)

// Ops is what running the engine in production needs: the ops HTTP server,
// payload encryption, and the credentials of a Temporal cluster or Temporal
// Cloud. Secrets (keys, tokens) are held here and never logged.
type Ops struct {
	Addr string
	// Codec encrypts payloads; nil when OUTREACH_PAYLOAD_KEYS is empty.
	Codec *codec.Codec
	// CodecAuthToken guards the codec endpoint; empty turns it off.
	CodecAuthToken   string
	CodecCORSOrigins []string

	TemporalAPIKey       string
	TLSCert, TLSKey      string
	TLSCA, TLSServerName string
}

func loadOps() (Ops, error) {
	o := Ops{
		Addr:             env("OUTREACH_OPS_ADDR"),
		CodecAuthToken:   env("OUTREACH_CODEC_AUTH_TOKEN"),
		CodecCORSOrigins: codec.ParseOrigins(env("OUTREACH_CODEC_CORS_ORIGINS")),
		TemporalAPIKey:   env("TEMPORAL_API_KEY"),
		TLSCert:          env("TEMPORAL_TLS_CERT"),
		TLSKey:           env("TEMPORAL_TLS_KEY"),
		TLSCA:            env("TEMPORAL_TLS_CA"),
		TLSServerName:    env("TEMPORAL_TLS_SERVER_NAME"),
	}
	if keys := env("OUTREACH_PAYLOAD_KEYS"); keys != "" {
		c, err := codec.ParseKeys(keys)
		if err != nil {
			return o, fmt.Errorf("OUTREACH_PAYLOAD_KEYS: %w", err)
		}
		o.Codec = c
	}
	if o.CodecAuthToken != "" && len(o.CodecAuthToken) < codec.MinTokenLength {
		return o, fmt.Errorf("OUTREACH_CODEC_AUTH_TOKEN: must be at least %d characters", codec.MinTokenLength)
	}
	if o.CodecAuthToken != "" && o.Codec == nil {
		return o, errors.New("OUTREACH_CODEC_AUTH_TOKEN is set but OUTREACH_PAYLOAD_KEYS is empty: the codec endpoint needs the keys")
	}
	if (o.TLSCert == "") != (o.TLSKey == "") {
		return o, errors.New("TEMPORAL_TLS_CERT and TEMPORAL_TLS_KEY go together: set both or neither")
	}
	return o, nil
}

// TLS returns the TLS configuration for the Temporal connection, or nil for
// a plain connection (the local dev server). An API key or a client
// certificate turns TLS on.
func (o Ops) TLS() (*tls.Config, error) {
	if o.TemporalAPIKey == "" && o.TLSCert == "" && o.TLSCA == "" {
		return nil, nil
	}
	cfg := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: o.TLSServerName}
	if o.TLSCert != "" {
		cert, err := tls.LoadX509KeyPair(o.TLSCert, o.TLSKey)
		if err != nil {
			return nil, fmt.Errorf("TEMPORAL_TLS_CERT/TEMPORAL_TLS_KEY: %w", err)
		}
		cfg.Certificates = []tls.Certificate{cert}
	}
	if o.TLSCA != "" {
		pem, err := os.ReadFile(o.TLSCA)
		if err != nil {
			return nil, fmt.Errorf("TEMPORAL_TLS_CA: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("TEMPORAL_TLS_CA: %s holds no PEM certificate", o.TLSCA)
		}
		cfg.RootCAs = pool
	}
	return cfg, nil
}

// ClientOptions are the Temporal client options of the configuration:
// address, namespace, logger, TLS or API key, and payload encryption when
// keys are configured (failure messages are then encrypted too).
func (c Config) ClientOptions(logger *slog.Logger) (client.Options, error) {
	opts := client.Options{
		HostPort:  c.TemporalAddress,
		Namespace: c.TemporalNamespace,
		Logger:    tlog.NewStructuredLogger(logger),
	}
	tlsCfg, err := c.Ops.TLS()
	if err != nil {
		return opts, err
	}
	opts.ConnectionOptions.TLS = tlsCfg
	if c.Ops.TemporalAPIKey != "" {
		opts.Credentials = client.NewAPIKeyStaticCredentials(c.Ops.TemporalAPIKey)
	}
	if c.Ops.Codec != nil {
		opts.DataConverter = codec.DataConverter(c.Ops.Codec)
		opts.FailureConverter = codec.FailureConverter(opts.DataConverter)
	}
	return opts, nil
}
