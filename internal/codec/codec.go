// Package codec encrypts every payload the engine hands to Temporal
// (workflow inputs and results, activity arguments, memos, failures) with
// AES-256-GCM, so that workflow histories on the server hold ciphertext only.
//
// Keys come from the environment as a comma-separated list of id:key pairs,
// the key being 32 bytes in base64:
//
//	OUTREACH_PAYLOAD_KEYS="k2:<base64>,k1:<base64>"
//
// The first key encrypts; every key decrypts. Each encrypted payload names
// its key id in its metadata, so a new key can be put first while the old one
// stays to read older histories, and removed once they are gone.
package codec

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"regexp"
	"strings"

	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
)

// Metadata of an encrypted payload.
const (
	// Encoding marks a payload this codec encrypted.
	Encoding = "binary/encrypted"
	// MetadataKeyID names the key that encrypted the payload.
	MetadataKeyID = "encryption-key-id"
)

// KeySize is the length of an AES-256 key in bytes.
const KeySize = 32

var keyIDPattern = regexp.MustCompile(`^[A-Za-z0-9._-]{1,64}$`)

// Codec is a converter.PayloadCodec that encrypts with AES-256-GCM.
type Codec struct {
	encryptID string
	keys      map[string]cipher.AEAD
}

var _ converter.PayloadCodec = (*Codec)(nil)

// ParseKeys reads a key list such as "k2:<base64>,k1:<base64>". Errors name
// the entry at fault but never echo key material.
func ParseKeys(spec string) (*Codec, error) {
	c := &Codec{keys: map[string]cipher.AEAD{}}
	entries := strings.Split(spec, ",")
	for i, entry := range entries {
		entry = strings.TrimSpace(entry)
		id, b64, ok := strings.Cut(entry, ":")
		id = strings.TrimSpace(id)
		switch {
		case entry == "":
			return nil, fmt.Errorf("payload key %d of %d is empty", i+1, len(entries))
		case !ok:
			return nil, fmt.Errorf("payload key %d of %d: want id:base64key", i+1, len(entries))
		case !keyIDPattern.MatchString(id):
			return nil, fmt.Errorf("payload key %d of %d: id must be 1-64 letters, digits, '.', '_' or '-'", i+1, len(entries))
		case c.keys[id] != nil:
			return nil, fmt.Errorf("payload key %d of %d: id %q is given twice", i+1, len(entries), id)
		}
		raw, err := decodeKey(strings.TrimSpace(b64))
		if err != nil {
			return nil, fmt.Errorf("payload key %q: %w", id, err)
		}
		aead, err := newAEAD(raw)
		if err != nil {
			return nil, fmt.Errorf("payload key %q: %w", id, err)
		}
		c.keys[id] = aead
		if i == 0 {
			c.encryptID = id
		}
	}
	return c, nil
}

func decodeKey(s string) ([]byte, error) {
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if raw, err := enc.DecodeString(s); err == nil {
			if len(raw) != KeySize {
				return nil, fmt.Errorf("key is %d bytes, want %d (generate one with: openssl rand -base64 32)", len(raw), KeySize)
			}
			return raw, nil
		}
	}
	return nil, errors.New("key is not valid base64 (generate one with: openssl rand -base64 32)")
}

func newAEAD(key []byte) (cipher.AEAD, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

// EncryptKeyID is the id of the key new payloads are encrypted with.
func (c *Codec) EncryptKeyID() string { return c.encryptID }

// Encode encrypts each payload whole (metadata and data) with the first key.
// The key id is bound to the ciphertext as additional data, so a payload
// relabelled with another key id does not decrypt.
func (c *Codec) Encode(payloads []*commonpb.Payload) ([]*commonpb.Payload, error) {
	aead := c.keys[c.encryptID]
	out := make([]*commonpb.Payload, len(payloads))
	for i, p := range payloads {
		plain, err := p.Marshal()
		if err != nil {
			return nil, fmt.Errorf("encode payload: %w", err)
		}
		nonce := make([]byte, aead.NonceSize(), aead.NonceSize()+len(plain)+aead.Overhead())
		if _, err := rand.Read(nonce); err != nil {
			return nil, fmt.Errorf("encode payload: %w", err)
		}
		out[i] = &commonpb.Payload{
			Metadata: map[string][]byte{
				converter.MetadataEncoding: []byte(Encoding),
				MetadataKeyID:              []byte(c.encryptID),
			},
			Data: aead.Seal(nonce, nonce, plain, []byte(c.encryptID)),
		}
	}
	return out, nil
}

// Decode decrypts the payloads this codec encrypted and passes others
// through unchanged (histories written before encryption was turned on stay
// readable). A payload encrypted with a key that is not configured is an
// error naming the key id.
func (c *Codec) Decode(payloads []*commonpb.Payload) ([]*commonpb.Payload, error) {
	out := make([]*commonpb.Payload, len(payloads))
	for i, p := range payloads {
		if string(p.GetMetadata()[converter.MetadataEncoding]) != Encoding {
			out[i] = p
			continue
		}
		id := string(p.GetMetadata()[MetadataKeyID])
		aead, ok := c.keys[id]
		if !ok {
			return nil, fmt.Errorf("decode payload: key %q is not configured (OUTREACH_PAYLOAD_KEYS)", id)
		}
		data := p.GetData()
		if len(data) < aead.NonceSize() {
			return nil, errors.New("decode payload: ciphertext is truncated")
		}
		plain, err := aead.Open(nil, data[:aead.NonceSize()], data[aead.NonceSize():], []byte(id))
		if err != nil {
			return nil, fmt.Errorf("decode payload with key %q: %w", id, err)
		}
		var dec commonpb.Payload
		if err := dec.Unmarshal(plain); err != nil {
			return nil, fmt.Errorf("decode payload with key %q: %w", id, err)
		}
		out[i] = &dec
	}
	return out, nil
}

// DataConverter is Temporal's default converter with every payload passed
// through c.
func DataConverter(c *Codec) converter.DataConverter {
	return converter.NewCodecDataConverter(converter.GetDefaultDataConverter(), c)
}

// FailureConverter makes failure messages and stack traces travel as
// (encrypted) payloads too: an error message may quote customer data.
func FailureConverter(dc converter.DataConverter) converter.FailureConverter {
	return temporal.NewDefaultFailureConverter(temporal.DefaultFailureConverterOptions{
		DataConverter: dc, EncodeCommonAttributes: true,
	})
}
