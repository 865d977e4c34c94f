package consul

import (
	"context"
	"errors"
	"testing"
	"time"
)

// answer is one reply of a scripted query.
type answer struct {
	index uint64
	err   error
}

// TestWatchIndex checks the index that each query waits on, as Consul
// documents blocking queries: the returned index is waited on next, an
// index that goes backwards resets to zero, zero is never waited on, a
// failure makes the next query read at once, and only a moved index is a
// change.
func TestWatchIndex(t *testing.T) {
	boom := errors.New("connection refused")
	tests := []struct {
		name        string
		answers     []answer
		wantWaits   []uint64 // the index of each query
		wantChanges int
	}{
		{"follows the index", []answer{{5, nil}, {7, nil}, {9, nil}}, []uint64{0, 5, 7}, 3},
		{"no change when the wait ends", []answer{{5, nil}, {5, nil}, {6, nil}}, []uint64{0, 5, 5}, 2},
		{"backwards resets", []answer{{50, nil}, {3, nil}, {4, nil}}, []uint64{0, 50, 0}, 3},
		{"zero is waited on as one", []answer{{0, nil}, {1, nil}, {2, nil}}, []uint64{0, 1, 1}, 2},
		{"a failure reads again at once", []answer{{8, nil}, {0, boom}, {8, nil}, {9, nil}}, []uint64{0, 8, 0, 8}, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			var waits []uint64
			changes, errs, oks := 0, 0, 0
			w := watch{
				query: func(_ context.Context, index uint64) (uint64, error) {
					waits = append(waits, index)
					a := tt.answers[len(waits)-1]
					if len(waits) == len(tt.answers) {
						cancel()
					}
					return a.index, a.err
				},
				onChange: func() bool { changes++; return true },
				onError:  func(error, time.Duration) { errs++ },
				onOK:     func() { oks++ },
			}
			w.run(ctx)
			if len(waits) != len(tt.wantWaits) {
				t.Fatalf("queries waited on %v, want %v", waits, tt.wantWaits)
			}
			for i := range waits {
				if waits[i] != tt.wantWaits[i] {
					t.Fatalf("queries waited on %v, want %v", waits, tt.wantWaits)
				}
			}
			if changes != tt.wantChanges {
				t.Errorf("%d changes, want %d", changes, tt.wantChanges)
			}
			if errs+oks != len(tt.answers) {
				t.Errorf("%d errors and %d successes reported for %d answers", errs, oks, len(tt.answers))
			}
		})
	}
}

// TestWatchRateLimit checks that an agent answering at once with a new
// index every time cannot spin the loop: after a burst, queries are spaced
// by minInterval.
func TestWatchRateLimit(t *testing.T) {
	const window = 200 * time.Millisecond
	ctx, cancel := context.WithTimeout(context.Background(), window)
	defer cancel()
	var n uint64
	watch{
		query:    func(context.Context, uint64) (uint64, error) { n++; return n, nil },
		onChange: func() bool { return true },
		onError:  func(error, time.Duration) {},
		onOK:     func() {},
	}.run(ctx)
	if limit := uint64(burst + window/minInterval + 1); n > limit {
		t.Errorf("%d queries in %s, want at most %d", n, window, limit)
	}
	if n < burst {
		t.Errorf("only %d queries in %s", n, window)
	}
}
