package auth

import (
	"testing"
	"time"

	"github.com/sluice/sluice/internal/testenv"
)

// The package's tests share one PostgreSQL with the fixtures loaded
// (testenv.SharedPostgres); tests that stop the database start their own.
func TestMain(m *testing.M) { testenv.Main(m) }

// newStore returns a Store on the shared database whose clock the test
// controls through the returned pointer.
func newStore(t *testing.T, opts ...Option) (*Store, *time.Time) {
	t.Helper()
	pg := testenv.SharedPostgres(t)
	s := NewStore(pg.Pool(t), opts...)
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	s.now = func() time.Time { return now }
	return s, &now
}
