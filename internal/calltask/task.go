package calltask

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/outreach-engine/outreach/internal/store"
)

// Outcome is what the agent heard on the phone.
type Outcome string

const (
	// Reached: the agent spoke with the customer.
	Reached Outcome = "reached"
	// Voicemail: the agent left a personal voicemail.
	Voicemail Outcome = "voicemail"
	// NoAnswer: no one picked up and no voicemail was left.
	NoAnswer Outcome = "no_answer"
	// WrongNumber: the number does not belong to the customer.
	WrongNumber Outcome = "wrong_number"
	// DoNotCall: the customer asked not to be called.
	DoNotCall Outcome = "do_not_call"
	// Expired is not an agent's outcome: no one completed the task before
	// its deadline.
	Expired Outcome = "expired"
	// Blocked is not an agent's outcome: a rule (no voice consent, no
	// phone, not a customer) forbade the call, so no task was opened.
	Blocked Outcome = "blocked"
)

// Outcomes lists what an agent may record, in the order the desk shows them.
var Outcomes = []Outcome{Reached, Voicemail, NoAnswer, WrongNumber, DoNotCall}

// Valid reports whether o is an outcome an agent may record.
func (o Outcome) Valid() bool {
	switch o {
	case Reached, Voicemail, NoAnswer, WrongNumber, DoNotCall:
		return true
	}
	return false
}

// Label is the outcome as the desk shows it.
func (o Outcome) Label() string {
	switch o {
	case Reached:
		return "Reached the customer"
	case Voicemail:
		return "Left a personal voicemail"
	case NoAnswer:
		return "No answer"
	case WrongNumber:
		return "Wrong number"
	case DoNotCall:
		return "Asked not to be called"
	case Expired:
		return "Expired"
	case Blocked:
		return "Not called (blocked by a rule)"
	}
	return string(o)
}

// ParseOutcome returns the outcome named s or an error naming the allowed values.
func ParseOutcome(s string) (Outcome, error) {
	o := Outcome(s)
	if !o.Valid() {
		return "", fmt.Errorf("unknown call outcome %q (want reached, voicemail, no_answer, wrong_number or do_not_call)", s)
	}
	return o, nil
}

// Status is where a task is in its life.
type Status string

const (
	StatusOpen      Status = "open"
	StatusClaimed   Status = "claimed"
	StatusCompleted Status = "completed"
	StatusExpired   Status = "expired"
)

// Task is one call task. It holds ids and the reason for the call; the
// customer's name and number stay in the customers table.
type Task struct {
	ID                int64      `json:"id"`
	WorkflowID        string     `json:"workflow_id"`
	JourneyWorkflowID string     `json:"journey_workflow_id"`
	EntryID           string     `json:"entry_id"`
	StepKey           string     `json:"step_key"`
	CustomerID        string     `json:"customer_id"`
	Journey           string     `json:"journey"`
	JourneyVersion    int        `json:"journey_version"`
	StepID            string     `json:"step_id"`
	Reason            string     `json:"reason"`
	TalkingPointsName string     `json:"talking_points_name,omitempty"`
	TalkingPoints     string     `json:"-"`
	DueAt             time.Time  `json:"due_at"`
	Status            Status     `json:"status"`
	ClaimedBy         string     `json:"claimed_by,omitempty"`
	LeaseUntil        *time.Time `json:"lease_until,omitempty"`
	Outcome           Outcome    `json:"outcome,omitempty"`
	Notes             string     `json:"-"`
	CompletedBy       string     `json:"completed_by,omitempty"`
	CompletedAt       *time.Time `json:"completed_at,omitempty"`
	CreatedAt         time.Time  `json:"created_at"`
}

// HeldBy reports whether agent holds a live lease on the task at now.
func (t Task) HeldBy(agent string, now time.Time) bool {
	return t.Status == StatusClaimed && t.ClaimedBy == agent && t.LeaseUntil != nil && now.Before(*t.LeaseUntil)
}

const taskColumns = `id, workflow_id, journey_workflow_id, entry_id, step_key, customer_id, journey,
	journey_version, step_id, reason, talking_points_name, talking_points, due_at, status,
	coalesce(claimed_by, ''), lease_until, coalesce(outcome, ''), notes, coalesce(completed_by, ''),
	completed_at, created_at`

func scanTask(row pgx.CollectableRow) (Task, error) {
	var t Task
	var status, outcome string
	err := row.Scan(&t.ID, &t.WorkflowID, &t.JourneyWorkflowID, &t.EntryID, &t.StepKey, &t.CustomerID,
		&t.Journey, &t.JourneyVersion, &t.StepID, &t.Reason, &t.TalkingPointsName, &t.TalkingPoints,
		&t.DueAt, &status, &t.ClaimedBy, &t.LeaseUntil, &outcome, &t.Notes, &t.CompletedBy,
		&t.CompletedAt, &t.CreatedAt)
	t.Status, t.Outcome = Status(status), Outcome(outcome)
	return t, err
}

func one(rows pgx.Rows, err error) (Task, error) {
	if err != nil {
		return Task{}, err
	}
	return pgx.CollectExactlyOneRow(rows, scanTask)
}

// Errors the desk and the CLI turn into messages for the agent.
var (
	ErrNotFound = errors.New("call task not found")
	// ErrTaken means another agent holds the task's lease, or the task is
	// no longer open.
	ErrTaken = errors.New("call task is not available to claim")
	// ErrNotHeld means the agent does not hold the task.
	ErrNotHeld = errors.New("call task is not claimed by this agent")
	// ErrClosed means the task was already completed or expired.
	ErrClosed = errors.New("call task is already closed")
)

// NewTask is what opening a task needs.
type NewTask struct {
	WorkflowID        string
	JourneyWorkflowID string
	EntryID           string
	StepKey           string
	CustomerID        string
	Journey           string
	JourneyVersion    int
	StepID            string
	Reason            string
	TalkingPointsName string
	TalkingPoints     string
	DueAt             time.Time
}

// Open creates the task, or returns the one an earlier attempt created for
// the same journey entry and step: opening is idempotent.
func Open(ctx context.Context, db store.DB, n NewTask) (Task, error) {
	t, err := one(db.Query(ctx, `
		insert into call_tasks (workflow_id, journey_workflow_id, entry_id, step_key, customer_id, journey,
		                        journey_version, step_id, reason, talking_points_name, talking_points, due_at)
		values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
		on conflict (journey_workflow_id, entry_id, step_key) do update set updated_at = call_tasks.updated_at
		returning `+taskColumns,
		n.WorkflowID, n.JourneyWorkflowID, n.EntryID, n.StepKey, n.CustomerID, n.Journey,
		n.JourneyVersion, n.StepID, n.Reason, n.TalkingPointsName, n.TalkingPoints, n.DueAt))
	if err != nil {
		return Task{}, fmt.Errorf("open call task for %s %s: %w", n.JourneyWorkflowID, n.StepKey, err)
	}
	return t, nil
}

// Find returns the task opened for a journey entry and step, or ErrNotFound.
func Find(ctx context.Context, db store.DB, journeyWorkflowID, entryID, stepKey string) (Task, error) {
	t, err := one(db.Query(ctx, `select `+taskColumns+` from call_tasks
		where journey_workflow_id = $1 and entry_id = $2 and step_key = $3`, journeyWorkflowID, entryID, stepKey))
	if errors.Is(err, pgx.ErrNoRows) {
		return Task{}, fmt.Errorf("%w: %s %s", ErrNotFound, journeyWorkflowID, stepKey)
	}
	return t, err
}

// Get loads one task.
func Get(ctx context.Context, db store.DB, id int64) (Task, error) {
	t, err := one(db.Query(ctx, `select `+taskColumns+` from call_tasks where id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return Task{}, fmt.Errorf("%w: %d", ErrNotFound, id)
	}
	return t, err
}

// List returns tasks in the given statuses (all when none), soonest due first.
func List(ctx context.Context, db store.DB, statuses ...Status) ([]Task, error) {
	ss := make([]string, len(statuses))
	for i, s := range statuses {
		ss[i] = string(s)
	}
	rows, err := db.Query(ctx, `select `+taskColumns+` from call_tasks
		where cardinality($1::text[]) = 0 or status = any($1) order by due_at, id`, ss)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, scanTask)
}

// Claim gives the task to agent for lease. It succeeds when the task is open,
// when its last holder's lease has lapsed, or when agent already holds it
// (which renews the lease). One statement decides, so two agents can never
// hold the same task.
func Claim(ctx context.Context, db store.DB, id int64, agent string, lease time.Duration) (Task, error) {
	if agent == "" || lease <= 0 {
		return Task{}, fmt.Errorf("claim call task %d: agent and a positive lease are required", id)
	}
	t, err := one(db.Query(ctx, `
		update call_tasks set status = 'claimed', claimed_by = $2,
			lease_until = now() + make_interval(secs => $3), updated_at = now()
		where id = $1 and (status = 'open'
			or (status = 'claimed' and (lease_until <= now() or claimed_by = $2)))
		returning `+taskColumns, id, agent, lease.Seconds()))
	if errors.Is(err, pgx.ErrNoRows) {
		if _, gerr := Get(ctx, db, id); gerr != nil {
			return Task{}, gerr
		}
		return Task{}, fmt.Errorf("%w: %d", ErrTaken, id)
	}
	return t, err
}

// Complete records the outcome of the agent's call. The agent must be the
// task's holder; a lapsed lease is fine as long as no one else claimed the
// task since. Completing again with the same outcome returns the task as it
// is, so a desk or script that retries after a lost reply does no harm.
func Complete(ctx context.Context, db store.DB, id int64, agent string, outcome Outcome, notes string) (Task, error) {
	if !outcome.Valid() {
		return Task{}, fmt.Errorf("complete call task %d: %w", id, errors.New("unknown call outcome "+string(outcome)))
	}
	t, err := one(db.Query(ctx, `
		update call_tasks set status = 'completed', outcome = $3, notes = $4, completed_by = $2,
			completed_at = now(), lease_until = null, updated_at = now()
		where id = $1 and status = 'claimed' and claimed_by = $2
		returning `+taskColumns, id, agent, string(outcome), notes))
	if !errors.Is(err, pgx.ErrNoRows) {
		return t, err
	}
	cur, gerr := Get(ctx, db, id)
	switch {
	case gerr != nil:
		return Task{}, gerr
	case cur.Status == StatusCompleted && cur.CompletedBy == agent && cur.Outcome == outcome:
		return cur, nil
	case cur.Status == StatusCompleted || cur.Status == StatusExpired:
		return Task{}, fmt.Errorf("%w: %d is %s", ErrClosed, id, cur.Status)
	}
	return Task{}, fmt.Errorf("%w: %d", ErrNotHeld, id)
}

// Expire closes a task whose deadline passed. If an agent completed it in the
// meantime, the completed task is returned unchanged: the outcome in Postgres
// wins over the deadline.
func Expire(ctx context.Context, db store.DB, id int64) (Task, error) {
	t, err := one(db.Query(ctx, `
		update call_tasks set status = 'expired', lease_until = null, updated_at = now()
		where id = $1 and status in ('open', 'claimed')
		returning `+taskColumns, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return Get(ctx, db, id)
	}
	return t, err
}
