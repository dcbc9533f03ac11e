package prefs

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/outreach-engine/outreach/internal/channel"
	"github.com/outreach-engine/outreach/internal/customer"
	"github.com/outreach-engine/outreach/internal/ledger"
	choices "github.com/outreach-engine/outreach/internal/prefs"
)

var funcs = map[string]any{
	"channelLabel": channelLabel,
	"interest":     choices.InterestLabel,
	"date":         func(t time.Time) string { return t.UTC().Format("2 January 2006") },
	"field":        fieldInWords,
	"source":       sourceInWords,
	"lower":        strings.ToLower,
}

// fieldInWords names an audited field for the customer.
func fieldInWords(field string) string {
	switch {
	case field == "max_frequency":
		return "How often you want offers"
	case field == "quiet_time":
		return "Quiet time"
	case field == "interests":
		return "Interests"
	case field == "personal_data":
		return "Your personal data"
	case strings.HasPrefix(field, "consent."):
		return channelLabel(channel.Name(strings.TrimPrefix(field, "consent."))) + " allowed"
	case strings.HasPrefix(field, "suppression."):
		parts := strings.Split(field, ".")
		if len(parts) == 3 {
			return "Stopped: " + intentWord(parts[2]) + " by " + strings.ToLower(channelLabel(channel.Name(parts[1])))
		}
	}
	return field
}

// sourceInWords names where a change came from.
func sourceInWords(source string) string {
	switch source {
	case choices.SourcePreferenceCenter:
		return "on this page"
	case choices.SourceOneClick:
		return "your mail app's unsubscribe button"
	case choices.SourceUnsubscribePage:
		return "the unsubscribe page"
	}
	return strings.ReplaceAll(source, "_", " ")
}

func channelLabel(ch channel.Name) string {
	switch ch {
	case channel.Email:
		return "Email"
	case channel.SMS:
		return "Text messages"
	case channel.Voice:
		return "Phone calls"
	case channel.Mail:
		return "Post"
	}
	return string(ch)
}

func plainList(s []string) string {
	switch len(s) {
	case 0:
		return ""
	case 1:
		return s[0]
	}
	return strings.Join(s[:len(s)-1], ", ") + " and " + s[len(s)-1]
}

// centerView is the preference center form.
type centerView struct {
	Channels     []channelChoice
	Frequencies  []frequencyChoice
	Quiet        choices.Quiet
	TimeZone     string
	Interests    []interestChoice
	Suppressions []choices.Suppression
	Saved        bool
	Changed      int
	Error        string
}

type channelChoice struct {
	Name    channel.Name
	Label   string
	Address string
	Allowed bool
}

type frequencyChoice struct {
	Value    choices.Frequency
	Label    string
	Selected bool
}

type interestChoice struct {
	ID, Label string
	Chosen    bool
}

func (h *Handler) centerView(c customer.Customer, p choices.Preferences) centerView {
	v := centerView{Quiet: p.Quiet, TimeZone: c.TimeZone, Suppressions: p.Suppressions}
	for _, ch := range channel.All {
		addr := c.AddressOn(ch)
		if ch == channel.Mail && c.Address != nil {
			addr = c.Address.OneLine()
		}
		v.Channels = append(v.Channels, channelChoice{Name: ch, Label: channelLabel(ch), Address: addr, Allowed: p.Consents[ch]})
	}
	for _, f := range choices.Frequencies {
		v.Frequencies = append(v.Frequencies, frequencyChoice{Value: f, Label: f.Label(), Selected: f == p.Frequency})
	}
	for _, id := range allowedInterests(p.Interests) {
		v.Interests = append(v.Interests, interestChoice{ID: id, Label: choices.InterestLabel(id), Chosen: slices.Contains(p.Interests, id)})
	}
	return v
}

// allowedInterests is the catalogue plus whatever the customer already has.
func allowedInterests(current []string) []string {
	out := make([]string, 0, len(choices.Catalogue)+len(current))
	for _, in := range choices.Catalogue {
		out = append(out, in.ID)
	}
	for _, in := range current {
		if !slices.Contains(out, in) {
			out = append(out, in)
		}
	}
	return out
}

func (h *Handler) center(w http.ResponseWriter, r *http.Request) {
	v, ok := h.open(w, r)
	if !ok {
		return
	}
	p, err := choices.Load(r.Context(), h.db, v.customer.ID)
	if err != nil {
		h.fail(w, err)
		return
	}
	view := h.centerView(v.customer, p)
	if n, err := strconv.Atoi(r.URL.Query().Get("saved")); err == nil {
		view.Saved, view.Changed = true, n
	}
	h.render(w, http.StatusOK, "center", h.page(v, "Your choices", view))
}

func (h *Handler) save(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	v, ok := h.open(w, r)
	if !ok || !h.checkCSRF(w, r, v) {
		return
	}
	ctx := r.Context()
	old, err := choices.Load(ctx, h.db, v.customer.ID)
	if err != nil {
		h.fail(w, err)
		return
	}
	next := choices.Preferences{
		Consents:  map[channel.Name]bool{},
		Frequency: choices.Frequency(r.PostFormValue("frequency")),
		Quiet:     choices.Quiet{Start: r.PostFormValue("quiet_start"), End: r.PostFormValue("quiet_end")},
		Interests: r.PostForm["interest"],
	}
	for _, ch := range channel.All {
		next.Consents[ch] = r.PostFormValue("channel_"+string(ch)) == "yes"
	}
	if err := next.Validate(allowedInterests(old.Interests)); err != nil {
		view := h.centerView(v.customer, next)
		view.Suppressions = old.Suppressions
		view.Error = err.Error()
		h.render(w, http.StatusBadRequest, "center", h.page(v, "Your choices", view))
		return
	}
	changes, err := choices.Save(ctx, h.db, v.customer.ID, next, choices.SourcePreferenceCenter)
	if err != nil {
		h.fail(w, err)
		return
	}
	n := len(changes)
	for _, lift := range r.PostForm["lift"] {
		chName, intent, _ := strings.Cut(lift, ".")
		ch, err1 := channel.ParseName(chName)
		in, err2 := channel.ParseIntent(intent)
		if err1 != nil || err2 != nil {
			continue
		}
		removed, err := choices.Lift(ctx, h.db, v.customer.ID, ch, in, choices.SourcePreferenceCenter)
		if err != nil {
			h.fail(w, err)
			return
		}
		if removed {
			n++
		}
	}
	http.Redirect(w, r, "/p/"+v.token+"?saved="+strconv.Itoa(n), http.StatusSeeOther)
}

// whyView is the decision record of one touch, in plain words.
type whyView struct {
	Touch       ledger.Touch
	Found       bool
	Explanation []string
	Outcome     string
}

func (h *Handler) why(w http.ResponseWriter, r *http.Request) {
	v, ok := h.open(w, r)
	if !ok {
		return
	}
	ctx := r.Context()
	touches, err := ledger.ForCustomer(ctx, h.db, v.customer.ID)
	if err != nil {
		h.fail(w, err)
		return
	}
	p, err := choices.Load(ctx, h.db, v.customer.ID)
	if err != nil {
		h.fail(w, err)
		return
	}
	view := whyView{}
	for _, t := range touches {
		if t.ID == v.claims.TouchID {
			view.Touch, view.Found = t, true
			view.Explanation, view.Outcome = Explain(t, v.customer, p)
		}
	}
	h.render(w, http.StatusOK, "why", h.page(v, "Why did I get this?", view))
}

// Explain says in plain words why the customer got (or did not get) a touch,
// from the ledger's decision record and what the customer told us. It returns
// the reasons and the outcome.
func Explain(t ledger.Touch, c customer.Customer, p choices.Preferences) ([]string, string) {
	var out []string
	out = append(out, fmt.Sprintf("It is part of our “%s” series of messages; this was its “%s” step, by %s.",
		t.Journey, t.StepID, strings.ToLower(channelLabel(t.Channel))))
	switch t.Intent {
	case channel.Transactional:
		out = append(out, "It is about your account or something you did with us, so we send it even when you have switched offers off.")
	case channel.Caring:
		out = append(out, "It is a personal check-in, not an offer.")
	case channel.Promotional:
		var allowed []string
		for _, ch := range channel.All {
			if p.Consents[ch] {
				allowed = append(allowed, strings.ToLower(channelLabel(ch)))
			}
		}
		line := "It is an offer. We send offers only where you allow them"
		if len(allowed) > 0 {
			line += " (you allow " + plainList(allowed) + ")"
		}
		out = append(out, line+", and never more often than you chose: “"+p.Frequency.Label()+"”.")
		if len(c.Interests) > 0 {
			labels := make([]string, len(c.Interests))
			for i, in := range c.Interests {
				labels[i] = choices.InterestLabel(in)
			}
			out = append(out, "You told us you are interested in "+plainList(labels)+": we choose offers that match.")
		} else {
			out = append(out, "You have not told us what interests you, so this offer was not chosen for you in particular. You can tell us below.")
		}
	}
	if n, ok := orders(c.Attributes); ok && n > 0 {
		plural := "s"
		if n == 1 {
			plural = ""
		}
		out = append(out, fmt.Sprintf("You have ordered from us %d time%s.", n, plural))
	}
	var outcome string
	switch t.Status {
	case ledger.Sent:
		outcome = "We sent it on " + t.UpdatedAt.UTC().Format("2 January 2006") + "."
	case ledger.Blocked:
		outcome = "In the end we did not send it: " + RuleInWords(t.Reason) + "."
	case ledger.Failed:
		outcome = "We tried to send it, but it did not go through."
	default:
		outcome = "It is on its way."
	}
	return out, outcome
}

func orders(attrs map[string]any) (int, bool) {
	switch n := attrs["orders"].(type) {
	case float64:
		return int(n), true
	case int:
		return n, true
	}
	return 0, false
}

// RuleInWords turns a ledger rule id into words for the customer.
func RuleInWords(rule string) string {
	switch {
	case rule == choices.RuleFrequency:
		return "you asked us for fewer offers"
	case strings.HasPrefix(rule, "suppression."):
		parts := strings.Split(rule, ".")
		if len(parts) == 3 {
			return "you unsubscribed from " + intentWord(parts[2]) + " by " + strings.ToLower(channelLabel(channel.Name(parts[1])))
		}
	case strings.HasPrefix(rule, "consent."):
		return "you have not allowed us to use " + strings.ToLower(channelLabel(channel.Name(strings.TrimPrefix(rule, "consent."))))
	case strings.HasPrefix(rule, "address."):
		return "we do not have an address for it"
	}
	return "one of our rules of respect held it back (" + rule + ")"
}

func intentWord(in string) string {
	switch channel.Intent(in) {
	case channel.Promotional:
		return "offers"
	case channel.Caring:
		return "check-ins"
	}
	return "messages about your account"
}

// dataView is "what we know about you".
type dataView struct {
	Items   []item
	Sent    map[string]int
	Held    int
	Changes []changeRow
	Error   string
}

type item struct{ Label, Value string }

type changeRow struct {
	At                      time.Time
	Source, Field, Old, New string
}

func (h *Handler) data(w http.ResponseWriter, r *http.Request) {
	v, ok := h.open(w, r)
	if !ok {
		return
	}
	view, err := h.dataView(r, v)
	if err != nil {
		h.fail(w, err)
		return
	}
	h.render(w, http.StatusOK, "data", h.page(v, "What we know about you", view))
}

func (h *Handler) dataView(r *http.Request, v visit) (dataView, error) {
	ctx := r.Context()
	c := v.customer
	p, err := choices.Load(ctx, h.db, c.ID)
	if err != nil {
		return dataView{}, err
	}
	none := func(s string) string {
		if s == "" {
			return "nothing"
		}
		return s
	}
	addr := ""
	if c.Address != nil {
		addr = c.Address.OneLine()
		if c.Address.POBox {
			addr += " (a PO box)"
		}
	}
	var allowed, interests []string
	for _, ch := range channel.All {
		if p.Consents[ch] {
			allowed = append(allowed, channelLabel(ch))
		}
	}
	for _, in := range c.Interests {
		interests = append(interests, choices.InterestLabel(in))
	}
	view := dataView{Sent: map[string]int{}, Items: []item{
		{"Your name", c.Name},
		{"Email address", none(c.Email)},
		{"Phone number", none(c.Phone)},
		{"Postal address", none(addr)},
		{"Time zone", c.TimeZone},
		{"Interests you told us", none(plainList(interests))},
		{"Ways you allow us to reach you", none(plainList(allowed))},
		{"How often you want offers", p.Frequency.Label()},
		{"Quiet time", p.Quiet.String()},
	}}
	keys := make([]string, 0, len(c.Attributes))
	for k := range c.Attributes {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		view.Items = append(view.Items, item{"Other detail: " + strings.ReplaceAll(k, "_", " "), fmt.Sprint(c.Attributes[k])})
	}
	touches, err := ledger.ForCustomer(ctx, h.db, c.ID)
	if err != nil {
		return dataView{}, err
	}
	for _, t := range touches {
		switch t.Status {
		case ledger.Sent:
			view.Sent[channelLabel(t.Channel)]++
		case ledger.Blocked:
			view.Held++
		}
	}
	rows, err := h.db.Query(ctx, `
		select changed_at, source, field, old_value, new_value from preference_changes
		where customer_id = $1 order by changed_at desc, id desc limit 20`, c.ID)
	if err != nil {
		return dataView{}, err
	}
	view.Changes, err = pgx.CollectRows(rows, pgx.RowToStructByPos[changeRow])
	return view, err
}

func (h *Handler) erase(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	v, ok := h.open(w, r)
	if !ok || !h.checkCSRF(w, r, v) {
		return
	}
	if r.PostFormValue("confirm") != "yes" {
		view, err := h.dataView(r, v)
		if err != nil {
			h.fail(w, err)
			return
		}
		view.Error = "Please tick the box to confirm that you want your data erased."
		h.render(w, http.StatusBadRequest, "data", h.page(v, "What we know about you", view))
		return
	}
	if _, err := choices.Erase(r.Context(), h.db, h.journeys, v.customer.ID, "erasure_request"); err != nil {
		// The data is gone if the transaction committed; only cancelling a
		// journey may have failed, and an erased customer gets no message.
		h.logger.Error("erasure", "customer_id", v.customer.ID, "error", err)
	}
	h.render(w, http.StatusOK, "erased", h.page(visit{}, "Your data was erased", nil))
}

// unsubscribePage is the landing page of the List-Unsubscribe link: it
// changes nothing by itself (mail scanners open links), confirms with one
// button, and offers the preference center instead.
func (h *Handler) unsubscribePage(w http.ResponseWriter, r *http.Request) {
	v, ok := h.open(w, r)
	if !ok {
		return
	}
	p, err := choices.Load(r.Context(), h.db, v.customer.ID)
	if err != nil {
		h.fail(w, err)
		return
	}
	h.render(w, http.StatusOK, "unsubscribe", h.page(v, "Unsubscribe", map[string]any{
		"Done": p.Suppressed(channel.Email, channel.Promotional),
	}))
}

// unsubscribe stops promotional email at once. A mail provider's one-click
// POST (body List-Unsubscribe=One-Click, RFC 8058) gets a bare 200; the
// landing page's button (with its CSRF token) gets the confirmation page.
func (h *Handler) unsubscribe(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if err := r.ParseMultipartForm(64 << 10); err != nil && err != http.ErrNotMultipart {
		http.Error(w, "bad request body", http.StatusBadRequest)
		return
	}
	oneClick := r.PostFormValue("List-Unsubscribe") == "One-Click"
	if oneClick {
		claims, err := h.signer.Verify(r.PathValue("token"))
		if err != nil {
			http.Error(w, "this unsubscribe link is not valid", http.StatusForbidden)
			return
		}
		if _, err := choices.Suppress(r.Context(), h.db, claims.CustomerID, channel.Email, channel.Promotional, choices.SourceOneClick); err != nil {
			if isForeignKey(err) { // unknown or erased customer: nothing to stop
				w.WriteHeader(http.StatusOK)
				return
			}
			h.logger.Error("one-click unsubscribe", "error", err)
			http.Error(w, "please try again", http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = w.Write([]byte("Unsubscribed from offers by email.\n"))
		return
	}
	v, ok := h.open(w, r)
	if !ok || !h.checkCSRF(w, r, v) {
		return
	}
	if _, err := choices.Suppress(r.Context(), h.db, v.customer.ID, channel.Email, channel.Promotional, choices.SourceUnsubscribePage); err != nil {
		h.fail(w, err)
		return
	}
	h.render(w, http.StatusOK, "unsubscribe", h.page(v, "Unsubscribed", map[string]any{"Done": true, "Just": true}))
}

func isForeignKey(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && pgErr.Code == "23503"
}
