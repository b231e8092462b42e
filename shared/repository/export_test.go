package repository

// SetDropHook makes DropSnapshot call f between deleting the info files and
// deleting the rest; a non-nil error stops it there.
func SetDropHook(f func(stage string) error) (restore func()) {
	dropHook = f
	return func() { dropHook = nil }
}
