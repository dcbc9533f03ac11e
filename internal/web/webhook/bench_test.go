package webhook

import (
	"fmt"
	"strings"
	"testing"
)

// BenchmarkParseSendGridEvents parses a batch of 100 events, the size
// SendGrid typically posts at once.
func BenchmarkParseSendGridEvents(b *testing.B) {
	var sb strings.Builder
	sb.WriteString("[")
	for i := range 100 {
		if i > 0 {
			sb.WriteString(",")
		}
		fmt.Fprintf(&sb, `{"email":"x%d@example.com","timestamp":1700000000,"event":"open","sg_event_id":"ev-%d","sg_message_id":"m.%d","touch_id":"%d","customer_id":"c-%d","useragent":"Mozilla/5.0","ip":"192.0.2.1"}`, i, i, i, i+1, i)
	}
	sb.WriteString("]")
	body := []byte(sb.String())
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ParseSendGridEvents(body); err != nil {
			b.Fatal(err)
		}
	}
}
