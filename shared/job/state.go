package job

import "fmt"

// State is a StarRocks backup job state.
type State string

// The backup job states, in the order a successful job passes through them.
const (
	Pending        State = "PENDING"         // job recorded, lock held
	Snapshoting    State = "SNAPSHOTING"     // reading the catalog and planning shards (StarRocks' spelling)
	UploadSnapshot State = "UPLOAD_SNAPSHOT" // plan written; upload tasks being built
	Uploading      State = "UPLOADING"       // shards being read and uploaded
	SaveMeta       State = "SAVE_META"       // every shard recorded; building __meta and __info
	UploadInfo     State = "UPLOAD_INFO"     // writing __meta, then __info (the commit marker)
	Finished       State = "FINISHED"
	Cancelled      State = "CANCELLED"
)

// order lists the states a successful job passes through.
var order = []State{Pending, Snapshoting, UploadSnapshot, Uploading, SaveMeta, UploadInfo, Finished}

// States returns every state, in order, CANCELLED last.
func States() []State {
	return append(append([]State(nil), order...), Cancelled)
}

// ParseState returns the state named s.
func ParseState(s string) (State, error) {
	st := State(s)
	if !st.Valid() {
		return "", fmt.Errorf("unknown job state %q", s)
	}
	return st, nil
}

// Valid reports whether s is a known state.
func (s State) Valid() bool {
	return s == Cancelled || s.index() >= 0 || restoreIndex(s) >= 0
}

func restoreIndex(s State) int {
	for i, o := range restoreOrder {
		if o == s {
			return i
		}
	}
	return -1
}

// IsFinal reports whether s is FINISHED or CANCELLED.
func (s State) IsFinal() bool {
	return s == Finished || s == Cancelled
}

// Next returns the state that follows s on the success path, and false
// for the final states.
func (s State) Next() (State, bool) {
	i := s.index()
	if i < 0 || i+1 >= len(order) {
		return "", false
	}
	return order[i+1], true
}

// Previous returns the state that precedes s on the success path, and
// false for PENDING, CANCELLED and unknown states. FINISHED follows
// UPLOAD_INFO for a BACKUP (COMMITTING for a RESTORE, which Finish handles).
func (s State) Previous() (State, bool) {
	if i := s.index(); i > 0 {
		return order[i-1], true
	}
	if i := restoreIndex(s); i > 0 {
		return restoreOrder[i-1], true
	}
	return "", false
}

// Reached reports whether a job in state s has got as far as t on its
// success path (t is s or comes before it), so a step retried after it
// completed knows which of its transitions are done.
func (s State) Reached(t State) bool {
	if i, j := s.index(), t.index(); i >= 0 && j >= 0 {
		return i >= j
	}
	if i, j := restoreIndex(s), restoreIndex(t); i >= 0 && j >= 0 {
		return i >= j
	}
	return false
}

func (s State) index() int {
	for i, o := range order {
		if o == s {
			return i
		}
	}
	return -1
}

// CanTransition reports whether a job may move from one state to another:
// one step forward on the success path, or to CANCELLED from any state
// that is not final.
func CanTransition(from, to State) bool {
	if !from.Valid() || !to.Valid() || from.IsFinal() {
		return false
	}
	if to == Cancelled {
		return true
	}
	if next, ok := from.Next(); ok && next == to {
		return true
	}
	i := restoreIndex(from)
	return i >= 0 && i+1 < len(restoreOrder) && restoreOrder[i+1] == to
}
