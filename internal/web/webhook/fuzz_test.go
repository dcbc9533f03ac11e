package webhook

import (
	"testing"
)

func FuzzParseSendGridEvents(f *testing.F) {
	f.Add([]byte(`[{"event":"open","sg_event_id":"e1","sg_message_id":"m1","timestamp":1700000000,"touch_id":"42","customer_id":"c-1"}]`))
	f.Add([]byte(`[{"event":"bounce","sg_event_id":"e2","touch_id":7,"type":"blocked"}]`))
	f.Add([]byte(`[{"event":"click","sg_event_id":"e3","touch_id":"-1"}]`))
	f.Add([]byte(`{}`))
	f.Add([]byte(`[null]`))
	f.Fuzz(func(t *testing.T, body []byte) {
		events, err := ParseSendGridEvents(body)
		if err != nil {
			return
		}
		for _, e := range events {
			if e.SGEventID == "" || e.Event == "" {
				t.Fatalf("accepted an event without id or name: %+v", e)
			}
			if e.TouchID < 0 {
				t.Fatalf("accepted a negative touch id: %d", e.TouchID)
			}
		}
	})
}

func FuzzParseTwilioForm(f *testing.F) {
	f.Add([]byte("MessageSid=SM1&MessageStatus=delivered&To=%2B447700900001"))
	f.Add([]byte("CallSid=CA1&CallStatus=completed"))
	f.Add([]byte("MessageSid=SM2&From=%2B447700900001&Body=%20stop%21"))
	f.Add([]byte("%zz=1&&="))
	f.Fuzz(func(t *testing.T, body []byte) {
		form, err := ParseForm(body)
		if err != nil {
			return
		}
		if st, err := ParseTwilioStatus(form); err == nil && (st.SID == "" || st.Status == "") {
			t.Fatalf("status without sid or status: %+v", st)
		}
		if in, err := ParseInbound(form); err == nil {
			if in.MessageSID == "" || in.From == "" {
				t.Fatalf("inbound without sid or sender: %+v", in)
			}
			_ = ParseKeyword(in.Body)
		}
	})
}

func TestParseKeyword(t *testing.T) {
	t.Parallel()
	for body, want := range map[string]Keyword{
		"STOP": Stop, " stop! ": Stop, "Unsubscribe": Stop, "stopall": Stop, "Opt out": Stop,
		"start": Start, "UNSTOP": Start, "help": Help, "Info?": Help,
		"please stop texting": NoKeyword, "thanks": NoKeyword, "": NoKeyword,
	} {
		if got := ParseKeyword(body); got != want {
			t.Errorf("ParseKeyword(%q) = %v, want %v", body, got, want)
		}
	}
}
