package workflows_test

import (
	"time"

	"github.com/outreach-engine/outreach/internal/journey"
	"github.com/outreach-engine/outreach/workflows"
)

func recordings() []recording {
	return []recording{
		{
			// The foundation's linear interpreter: sends and waits in file order.
			file:  "linear-welcome.json",
			input: workflows.JourneyInput{CustomerID: "c-rec", Journey: journey.Welcome(200*time.Millisecond, 200*time.Millisecond)},
		},
	}
}
