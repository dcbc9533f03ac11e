package cli

import (
	"context"
	"fmt"
	"time"

	"github.com/outreach-engine/outreach/internal/channel"
	"github.com/outreach-engine/outreach/internal/customer"
	"github.com/outreach-engine/outreach/internal/ledger"
	"github.com/outreach-engine/outreach/internal/policy"
	"github.com/outreach-engine/outreach/internal/policy/policydb"
)

func cmdPreview(ctx context.Context, a *App, args []string) error {
	fs := flags(a, "preview")
	name := fs.String("journey", "", "built-in journey name (required): welcome or offers")
	customerID := fs.String("customer", "", "preview for this customer id")
	all := fs.Bool("all", false, "preview for every account in the customer table")
	asJSON := fs.Bool("json", false, "print the report as JSON")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *name == "" {
		return fmt.Errorf("%w: --journey is required", ErrUsage)
	}
	if (*customerID == "") == !*all {
		return fmt.Errorf("%w: give exactly one of --customer ID or --all", ErrUsage)
	}
	def, err := loadJourney(a, *name)
	if err != nil {
		return err
	}
	if err := def.Validate(); err != nil {
		return fmt.Errorf("journey %s is not valid:\n%w", def.Name, err)
	}
	pool, err := a.DB(ctx)
	if err != nil {
		return err
	}
	ids := []string{*customerID}
	if *all {
		if ids, err = policydb.AllCustomerIDs(ctx, pool); err != nil {
			return err
		}
	}
	r, err := policydb.Preview(ctx, pool, def, ids, time.Now())
	if err != nil {
		return err
	}
	if *asJSON {
		return printJSON(a, r)
	}
	printPreview(a, r)
	return nil
}

// outcomeWords says what a decision does to a touch, in the past tense of a
// dry run.
var outcomeWords = map[policy.Outcome]string{policy.Allow: "send", policy.Block: "blocked", policy.Change: "changed"}

func route(ch channel.Name, s policy.Surface) string {
	if ch == channel.Mail {
		return "mail " + string(s)
	}
	return string(ch)
}

func printPreview(a *App, r policydb.Report) {
	fmt.Fprintf(a.Out, "dry run of journey %s v%d for %d accounts: nothing is sent or reserved\n", r.Journey, r.Version, len(r.Customers))
	for _, c := range r.Customers {
		if !c.Entered {
			fmt.Fprintf(a.Out, "%s  kept out of the journey: %s: %s\n", c.CustomerID, c.Enter.RuleID, c.Enter.Reason)
			continue
		}
		fmt.Fprintln(a.Out, c.CustomerID)
		for _, s := range c.Steps {
			d := s.Decision
			switch d.Outcome {
			case policy.Allow:
				fmt.Fprintf(a.Out, "  %-18s %-8s %s\n", s.StepID, "send", route(d.Final.Channel, d.Final.Surface))
			case policy.Change:
				fmt.Fprintf(a.Out, "  %-18s %-8s %s -> %s  %s: %s\n", s.StepID, "changed",
					route(d.Planned.Channel, d.Planned.Surface), route(d.Final.Channel, d.Final.Surface), d.RuleID, d.Reason)
			default:
				fmt.Fprintf(a.Out, "  %-18s %-8s %s  %s: %s\n", s.StepID, "blocked",
					route(d.Planned.Channel, d.Planned.Surface), d.RuleID, d.Reason)
			}
		}
	}
	fmt.Fprintln(a.Out, "totals per rule:")
	for _, t := range r.Totals {
		fmt.Fprintf(a.Out, "  %-8s %-24s %d\n", outcomeWords[t.Outcome], t.RuleID, t.Count)
	}
}

func cmdWhy(ctx context.Context, a *App, args []string) error {
	customerID, asJSON, err := customerFlags(a, "why", args)
	if err != nil {
		return err
	}
	pool, err := a.DB(ctx)
	if err != nil {
		return err
	}
	if _, err := customer.Get(ctx, pool, customerID); err != nil {
		return err
	}
	es, err := policydb.Explain(ctx, pool, customerID)
	if err != nil {
		return err
	}
	if asJSON {
		return printJSON(a, es)
	}
	if len(es) == 0 {
		fmt.Fprintf(a.Out, "customer %s has had no touches\n", customerID)
		return nil
	}
	for _, e := range es {
		fmt.Fprintf(a.Out, "%s  %s/%s (%s)\n  %s\n", e.At.UTC().Format(time.RFC3339), e.Journey, e.StepID, e.Intent, whyLine(e))
	}
	return nil
}

// whyLine says in plain words what happened to a touch and why.
func whyLine(e policydb.Explained) string {
	planned := route(e.PlannedChannel, e.PlannedSurface)
	final := route(e.FinalChannel, e.FinalSurface)
	because := fmt.Sprintf("rule %s: %s", e.RuleID, e.Reason)
	heldBack := e.Outcome != policy.Block && e.LedgerReason != "" && e.LedgerReason != e.RuleID
	switch {
	case e.Status == ledger.Blocked && heldBack:
		return fmt.Sprintf("not sent: the %s passed every rule of respect, but the customer's own choice holds it back; rule %s", final, e.LedgerReason)
	case e.Status == ledger.Blocked:
		return fmt.Sprintf("not sent, the %s was blocked; %s", planned, because)
	case e.Status == ledger.Expired && heldBack:
		return fmt.Sprintf("not sent: the %s passed every rule of respect, but the throttle held it back until the step's deadline passed; rule %s", final, e.LedgerReason)
	case e.Status == ledger.Deferred && heldBack:
		return fmt.Sprintf("waiting: the %s passed every rule of respect and the throttle deferred it; rule %s", final, e.LedgerReason)
	case e.Outcome == policy.Change && e.Status == ledger.Sent:
		return fmt.Sprintf("sent as %s instead of the planned %s; %s", final, planned, because)
	case e.Status == ledger.Sent:
		return fmt.Sprintf("sent as %s: every rule of respect passed", final)
	case e.Status == ledger.Failed:
		return fmt.Sprintf("failed to send the %s (%s)", planned, e.RuleID)
	case e.Outcome == policy.Change:
		return fmt.Sprintf("%s, to go out as %s instead of the planned %s; %s", e.Status, final, planned, because)
	case e.Outcome != "":
		return fmt.Sprintf("%s: the %s passed every rule of respect", e.Status, planned)
	}
	return fmt.Sprintf("%s: the %s has not been decided yet", e.Status, planned)
}
