package calltask

import "time"

// Default calling hours in the customer's own time zone: 08:00 to 21:00.
const (
	DefaultCallStartHour = 8
	DefaultCallEndHour   = 21
)

// Window is when a customer may be called, as the desk shows it.
type Window struct {
	// LocalNow is the customer's wall-clock time.
	LocalNow time.Time
	// Open reports whether a call is allowed now.
	Open bool
	// Opens is when calling is next allowed (equal to LocalNow when open).
	Opens time.Time
	// Closes is when the current or next allowed period ends.
	Closes time.Time
}

// CallWindow says whether a customer in loc may be called at now, with
// calling allowed from startHour (inclusive) to endHour (exclusive) local
// time, and when the allowed period opens and closes. Days that skip or repeat
// an hour for daylight saving are handled by the time package's wall-clock
// normalisation.
func CallWindow(now time.Time, loc *time.Location, startHour, endHour int) Window {
	local := now.In(loc)
	y, m, d := local.Date()
	start := time.Date(y, m, d, startHour, 0, 0, 0, loc)
	end := time.Date(y, m, d, endHour, 0, 0, 0, loc)
	switch {
	case local.Before(start):
		return Window{LocalNow: local, Opens: start, Closes: end}
	case local.Before(end):
		return Window{LocalNow: local, Open: true, Opens: local, Closes: end}
	default:
		return Window{
			LocalNow: local,
			Opens:    time.Date(y, m, d+1, startHour, 0, 0, 0, loc),
			Closes:   time.Date(y, m, d+1, endHour, 0, 0, 0, loc),
		}
	}
}
