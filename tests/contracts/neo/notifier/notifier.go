// Package notifier is the Neo N3 contract the chain-layer tests deploy: a counter whose methods
// emit notifications, so that the watcher has events to deliver (one, many per transaction, and
// one from a transaction that faults, which must never be delivered).
package notifier

import (
	"github.com/nspcc-dev/neo-go/pkg/interop/runtime"
	"github.com/nspcc-dev/neo-go/pkg/interop/storage"
)

const counterKey = "n"

// Bump adds by to the stored counter, notifies Bumped(value, note) and returns the new value.
func Bump(by int, note string) int {
	ctx := storage.GetContext()
	n := 0
	if v := storage.Get(ctx, counterKey); v != nil {
		n = v.(int)
	}
	n += by
	storage.Put(ctx, counterKey, n)
	runtime.Notify("Bumped", n, note)
	return n
}

// Burst notifies Bumped(i, note) for i = 0 .. count-1 in one transaction.
func Burst(count int, note string) {
	for i := 0; i < count; i++ {
		runtime.Notify("Bumped", i, note)
	}
}

// Fail notifies and then faults: the notification is part of a failed execution.
func Fail(note string) {
	runtime.Notify("Bumped", -1, note)
	panic("failed on purpose")
}

// Value returns the stored counter.
func Value() int {
	v := storage.Get(storage.GetReadOnlyContext(), counterKey)
	if v == nil {
		return 0
	}
	return v.(int)
}
