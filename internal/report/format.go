package report

import (
	"encoding/csv"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
)

// NoEngagement is what the text report says when there are no provider events.
const NoEngagement = "no engagement data yet: delivered, opened, clicked and converted need provider events"

// WriteText prints the report for a person: the funnel, the rules that
// blocked touches, and the variants side by side.
func WriteText(w io.Writer, r Report) error {
	if r.Entries == 0 {
		_, err := fmt.Fprintf(w, "journey %s: no touches yet\n", r.Journey)
		return err
	}
	versions := make([]string, len(r.Versions))
	for i, v := range r.Versions {
		versions[i] = strconv.Itoa(v)
	}
	fmt.Fprintf(w, "journey %s (version %s): %d entries\n\n", r.Journey, strings.Join(versions, ", "), r.Entries)
	// Names read left-aligned, numbers right-aligned.
	width := len("step")
	for _, s := range r.Steps {
		width = max(width, len(s.StepID))
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "%-*s  %-7s\tentered\tsent\tdeferred\tblocked\texpired\tfailed\tin flight\tdelivered\topened\tclicked\tconverted\tdropped out\t\n", width, "step", "channel")
	for _, s := range r.Steps {
		fmt.Fprintf(tw, "%-*s  %-7s\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t\n", width, s.StepID, s.Channel,
			s.Entered, s.Sent, s.Deferred, s.Blocked, s.Expired, s.Failed, s.InFlight,
			s.Delivered, s.Opened, s.Clicked, s.Converted, s.DroppedOut)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, s := range r.Steps {
		for _, b := range s.BlockedBy {
			fmt.Fprintf(w, "  %s: %d blocked by %s\n", s.StepID, b.Count, b.Rule)
		}
		for _, b := range s.ExpiredBy {
			fmt.Fprintf(w, "  %s: %d expired, held by %s\n", s.StepID, b.Count, b.Rule)
		}
	}
	if !r.Engagement {
		fmt.Fprintln(w, NoEngagement)
	}
	if len(r.Variants) == 0 {
		return nil
	}
	fmt.Fprintln(w, "\nvariants")
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	vwidth := len("variant")
	for _, v := range r.Variants {
		vwidth = max(vwidth, len(v.Name))
	}
	fmt.Fprintf(tw, "%-*s\tcustomers\tsent\tsend rate\topened\tclicked\tconverted\tconversion\t\n", vwidth, "variant")
	for _, v := range r.Variants {
		fmt.Fprintf(tw, "%-*s\t%d\t%d\t%s\t%d\t%d\t%d\t%s\t\n", vwidth, v.Name, v.Entered, v.Sent, pct(v.SendRate),
			v.Opened, v.Clicked, v.Converted, pct(v.ConversionRate))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, c := range r.Comparisons {
		fmt.Fprintf(w, "  %s vs %s: send rate %s (95%% CI %s to %s)", c.Variant, c.Control,
			points(c.SendDiff), points(c.SendCI.Low), points(c.SendCI.High))
		if r.Engagement {
			fmt.Fprintf(w, ", conversion %s (95%% CI %s to %s)",
				points(c.ConversionDiff), points(c.ConversionCI.Low), points(c.ConversionCI.High))
		}
		fmt.Fprintln(w, significance(c, r.Engagement))
	}
	return nil
}

func significance(c Comparison, engagement bool) string {
	var clear []string
	if !c.SendCI.Contains(0) {
		clear = append(clear, "send rate")
	}
	if engagement && !c.ConversionCI.Contains(0) {
		clear = append(clear, "conversion")
	}
	if len(clear) == 0 {
		return "; no clear difference yet"
	}
	return "; the " + strings.Join(clear, " and ") + " difference excludes zero"
}

func pct(x float64) string { return fmt.Sprintf("%.1f%%", 100*x) }

// points renders a difference of rates in percentage points, with its sign.
func points(x float64) string { return fmt.Sprintf("%+.1f pts", 100*x) }

// csvHeader is the first line of the CSV export.
var csvHeader = []string{"section", "name", "channel", "entered", "sent", "deferred", "blocked", "expired", "failed", "in_flight",
	"delivered", "opened", "clicked", "converted", "dropped_out", "blocked_by",
	"send_rate_diff", "send_rate_diff_ci95_low", "send_rate_diff_ci95_high",
	"conversion_rate_diff", "conversion_rate_diff_ci95_low", "conversion_rate_diff_ci95_high"}

// WriteCSV exports the report as one table: a "step" row per funnel step and
// a "variant" row per split variant (with its difference to the control).
func WriteCSV(w io.Writer, r Report) error {
	cw := csv.NewWriter(w)
	_ = cw.Write(csvHeader)
	itoa := strconv.Itoa
	for _, s := range r.Steps {
		var rules []string
		for _, b := range s.BlockedBy {
			rules = append(rules, fmt.Sprintf("%s=%d", b.Rule, b.Count))
		}
		for _, b := range s.ExpiredBy {
			rules = append(rules, fmt.Sprintf("expired:%s=%d", b.Rule, b.Count))
		}
		_ = cw.Write([]string{"step", s.StepID, s.Channel, itoa(s.Entered), itoa(s.Sent), itoa(s.Deferred),
			itoa(s.Blocked), itoa(s.Expired), itoa(s.Failed), itoa(s.InFlight), itoa(s.Delivered), itoa(s.Opened), itoa(s.Clicked),
			itoa(s.Converted), itoa(s.DroppedOut), strings.Join(rules, ";"), "", "", "", "", "", ""})
	}
	f := func(x float64) string { return strconv.FormatFloat(x, 'f', 4, 64) }
	for i, v := range r.Variants {
		row := []string{"variant", v.Name, "", itoa(v.Entered), itoa(v.Sent), itoa(v.Deferred), itoa(v.Blocked),
			itoa(v.Expired), itoa(v.Failed), itoa(v.InFlight), itoa(v.Delivered), itoa(v.Opened), itoa(v.Clicked), itoa(v.Converted),
			"", "", "", "", "", "", "", ""}
		if i > 0 {
			c := r.Comparisons[i-1]
			copy(row[16:], []string{f(c.SendDiff), f(c.SendCI.Low), f(c.SendCI.High),
				f(c.ConversionDiff), f(c.ConversionCI.Low), f(c.ConversionCI.High)})
		}
		_ = cw.Write(row)
	}
	cw.Flush()
	return cw.Error()
}
